"""Intuit's OAuth 2.0 service: authorization code with the company (realm) chosen on the consent
page, bearer tokens that expire after an hour, refresh tokens that rotate, and revocation.

Paths as Intuit's hosts have them: `/connect/oauth2` (appcenter.intuit.com),
`/oauth2/v1/tokens/bearer` (oauth.platform.intuit.com) and `/v2/oauth2/tokens/revoke`
(developer.api.intuit.com).
"""

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from html import escape

from werkzeug.wrappers import Request, Response

from integrations.emulators.common.oauth import (
    AuthorizationServer,
    OAuthError,
    Token,
    authorize_request,
    chosen_tenant,
    consent_buttons,
    consent_pages,
    redirect_back,
    tenant_choice,
    token_endpoint,
)

from .wire import json_response

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
AUTHORIZE_PARAMS = ("client_id", "response_type", "scope", "redirect_uri", "state")


@dataclass
class Grant:
    """One consent: an app connected to one company. Revoking it ends every token of it."""

    grant_id: str
    client_id: str
    realm_id: str
    scope: str
    created: float
    revoked: bool = False


class BearerError(Exception):
    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


class OAuthServer(AuthorizationServer):
    code_prefix = "AB"
    code_bytes = 30

    # --- grants and tokens -------------------------------------------------------------------

    def approve(self, client_id: str, realm_id: str, scope: str, redirect_uri: str) -> str:
        grant = Grant(secrets.token_hex(8), client_id, realm_id, scope, self.clock())
        return self._code_for(grant, redirect_uri)

    def _grant_too_old(self, grant: Grant, now: float) -> bool:
        return now >= grant.created + self.config.refresh_token_max_age

    def revoke(self, client_id: str, token: str) -> None:
        found = self.store.refresh.get(token or "") or self.store.access.get(token or "")
        if found is None:
            return
        grant = self.store.grants[found.grant_id]
        if grant.client_id == client_id:
            grant.revoked = True

    def connect(self, client_id: str, realm_id: str, scope: str = ACCOUNTING_SCOPE) -> dict:
        return {**self.connected(client_id, realm_id, scope), "realmId": realm_id}

    def _issue(self, grant: Grant) -> dict:
        now = self.clock()
        access, refresh = "eyJ" + secrets.token_urlsafe(60), "RT1-" + secrets.token_hex(24)
        self.store.access[access] = Token(grant.grant_id, now + self.config.access_token_ttl)
        expires = min(
            now + self.config.refresh_token_ttl, grant.created + self.config.refresh_token_max_age
        )
        self.store.refresh[refresh] = Token(grant.grant_id, expires)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": self.config.access_token_ttl,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": int(expires - now),
        }

    # --- the resource server -------------------------------------------------------------------

    def access(self, authorization: str | None) -> Grant:
        found = self._bearer(authorization)
        if found is None or self.store.grants[found.grant_id].revoked:
            raise BearerError()
        if self.clock() >= found.expires_at:
            raise BearerError(expired=True)
        return self.store.grants[found.grant_id]

    # --- the client ----------------------------------------------------------------------------

    def authenticate(self, request: Request) -> str:
        """HTTP Basic client credentials, as Intuit's token and revoke endpoints take them."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", 401) from None
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client", 401)
        return self._client_checked(client_id, secret)


# --- HTTP --------------------------------------------------------------------------------------

_html = consent_pages(title="Intuit (emulated)", accent="#2ca01c", background="#f4f5f8")


def authorize(emulator, request: Request) -> Response:
    """GET: the consent page, one company to choose; its form POSTs back here."""
    params, refusal = authorize_request(
        emulator,
        request,
        names=AUTHORIZE_PARAMS,
        html=_html,
        unknown_client="<h1>Unknown app</h1><p>client_id {client_id}</p>",
        scope_ok=lambda scope: ACCOUNTING_SCOPE in scope.split(),
    )
    if refusal is not None:
        return refusal
    redirect_uri, state = params["redirect_uri"], params["state"]
    realms = emulator.company_names()
    if request.method == "GET":
        return _html(
            f"<h1>Connect {escape(params['client_id'])} to QuickBooks</h1>"
            '<p class="muted">This is the local QuickBooks Online emulator: no Intuit account '
            "is involved.</p>"
            + tenant_choice(params, field="realm_id", tenants=realms, heading="Choose a company")
            + consent_buttons("Connect")
        )
    realm_id = chosen_tenant(request, field="realm_id", tenants=realms)
    if not realm_id:
        return redirect_back(redirect_uri, error="access_denied", state=state)
    code = emulator.oauth.approve(params["client_id"], realm_id, params["scope"], redirect_uri)
    return redirect_back(redirect_uri, code=code, state=state, realmId=realm_id)


def token(emulator, request: Request) -> Response:
    """`POST /oauth2/v1/tokens/bearer`, client credentials in HTTP Basic."""
    return token_endpoint(emulator, request, respond=json_response)


def revoke(emulator, request: Request) -> Response:
    try:
        client_id = emulator.oauth.authenticate(request)
    except OAuthError as exc:
        return json_response({"error": exc.error}, exc.status)
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        body = {}
    token_value = body.get("token") if isinstance(body, dict) else None
    token_value = token_value or request.form.get("token")
    if not token_value:
        return json_response({"error": "invalid_request"}, 400)
    emulator.oauth.revoke(client_id, token_value)
    return Response(b"", 200)
