"""HTTP side of Xero's identity service: the consent screen, the token endpoint, connections."""

from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import wire
from .oauth import BearerError, OAuthError, expired_detail
from .pages import consent_page, error_page, sign_in_page
from .responses import json_response, not_found, unauthorized

AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state")
# Who signs in on the consent page (an email of the emulator's users; the emulator's own
# stand-in for Xero's login form). Absent with one user: that user.
LOGIN_PARAM = "login"


def bearer_failure(error: BearerError) -> Response:
    if error.expired_at is not None:
        return unauthorized(expired_detail(error.expired_at), expired=True)
    return unauthorized()


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _back_to_client(redirect_uri: str, **params) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return redirect(f"{redirect_uri}{separator}{query}", code=302)


def authorize(emulator, request: Request) -> Response:
    """GET shows the consent page; its form POSTs back here with the same parameters."""
    source = request.form if request.method == "POST" else request.args
    params = {name: source.get(name, request.args.get(name, "")) for name in AUTHORIZE_PARAMS}
    oauth = emulator.oauth
    if not oauth.client_is_known(params["client_id"]):
        return _html(error_page(f"Unknown client_id '{params['client_id']}'."), 400)
    if not oauth.redirect_uri_allowed(params["redirect_uri"]):
        return _html(error_page("The redirect_uri is missing or not registered."), 400)
    redirect_uri, state = params["redirect_uri"], params["state"]
    if params["response_type"] != "code":
        return _back_to_client(redirect_uri, error="unsupported_response_type", state=state)
    if not params["scope"].strip():
        return _back_to_client(redirect_uri, error="invalid_scope", state=state)
    users = oauth.store.users
    login = source.get(LOGIN_PARAM, request.args.get(LOGIN_PARAM, ""))
    if request.method == "GET" and not login and len(users) > 1:
        emails = [u.email for u in users.values()]
        return _html(sign_in_page(params=params, emails=emails))
    try:
        user = oauth.user_by_email(login)
    except KeyError:
        return _html(error_page(f"There is no Xero user '{login}'."), 400)
    tenants = [(t, name) for t, name in emulator.company_names() if oauth.may_access(user, t)]
    if request.method == "GET":
        return _html(
            consent_page(
                client_id=params["client_id"],
                params={**params, LOGIN_PARAM: user.email},
                tenants=tenants,
                email=user.email,
            )
        )
    chosen = request.form.getlist("tenant_id")
    if "tenant_choice" not in request.form and not chosen:
        chosen = [tenant_id for tenant_id, _ in tenants]  # a scripted POST: connect them all
    tenant_ids = [tenant_id for tenant_id, _ in tenants if tenant_id in chosen]
    if request.form.get("action") == "cancel" or not tenant_ids:
        return _back_to_client(redirect_uri, error="access_denied", state=state)
    code = oauth.approve(
        params["client_id"], redirect_uri, params["scope"], tenant_ids, user.user_id
    )
    return _back_to_client(redirect_uri, code=code, scope=params["scope"], state=state)


def _client(emulator, request: Request) -> str:
    """Client authentication by HTTP Basic or by client_id/client_secret form fields."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return emulator.oauth.authenticate_client(auth.username, auth.password)
    return emulator.oauth.authenticate_client(
        request.form.get("client_id"), request.form.get("client_secret")
    )


def token(emulator, request: Request) -> Response:
    form = request.form
    if emulator.faults.take_token_fault():
        return json_response({"token_type": "Bearer", "expires_in": 1800})
    try:
        client_id = _client(emulator, request)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            answer = emulator.oauth.exchange_code(
                client_id, form.get("code"), form.get("redirect_uri")
            )
        elif grant_type == "refresh_token":
            answer = emulator.oauth.refresh(client_id, form.get("refresh_token"))
        else:
            raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return json_response({"error": exc.error}, 400)
    return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def revocation(emulator, request: Request) -> Response:
    try:
        client_id = _client(emulator, request)
    except OAuthError as exc:
        return json_response({"error": exc.error}, 400)
    emulator.oauth.revoke_token(client_id, request.form.get("token"))
    return Response(status=200)


def get_connections(emulator, request: Request, access) -> Response:
    auth_event_id = request.args.get("authEventId")
    connections = [
        c
        for c in emulator.oauth.connections(access)
        if auth_event_id is None or c.auth_event_id == auth_event_id
    ]
    names = dict(emulator.company_names())
    body = [
        {
            "id": c.id,
            "authEventId": c.auth_event_id,
            "tenantId": c.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": names[c.tenant_id],
            "createdDateUtc": wire.iso_utc_7(c.created),
            "updatedDateUtc": wire.iso_utc_7(c.updated),
        }
        for c in connections
    ]
    return json_response(body)


def delete_connection(emulator, request: Request, access, connection_id: str) -> Response:
    if not emulator.oauth.delete_connection(access, connection_id):
        return not_found()
    return Response(status=204)


# Xero's own spec writes /Connections; the documented URL is lowercase. Both answer.
OAUTH_ROUTES = [
    Rule("/identity/connect/authorize", methods=["GET", "POST"], endpoint=authorize),
    Rule("/connect/token", methods=["POST"], endpoint=token),
    Rule("/connect/revocation", methods=["POST"], endpoint=revocation),
]
CONNECTION_ROUTES = [
    Rule("/connections", methods=["GET"], endpoint=get_connections),
    Rule("/Connections", methods=["GET"], endpoint=get_connections),
    Rule("/connections/<connection_id>", methods=["DELETE"], endpoint=delete_connection),
    Rule("/Connections/<connection_id>", methods=["DELETE"], endpoint=delete_connection),
]
