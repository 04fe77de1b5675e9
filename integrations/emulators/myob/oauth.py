"""MYOB's OAuth 2.0 (secure.myob.com): the consent page where the admin chooses one company file,
the code exchange and refresh at `/oauth2/v1/authorize`, and bearer tokens for the API.

The redirect carries `code`, `state`, `scope`, `businessId` (the company file's GUID) and
`businessName`, as MYOB's post-March-2025 keys get them (NOTES.md, "OAuth 2.0").
"""

import secrets
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from integrations.emulators.common.oauth import (
    AuthorizationServer,
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

AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "prompt")


class BearerError(Exception):
    pass


@dataclass
class Grant:
    grant_id: str
    client_id: str
    business_id: str
    scope: str
    revoked: bool = False


class OAuthServer(AuthorizationServer):
    def approve(self, client_id: str, business_id: str, scope: str, redirect_uri: str) -> str:
        grant = Grant(secrets.token_hex(8), client_id, business_id, scope)
        return self._code_for(grant, redirect_uri)

    # A refresh token is spent when used (AuthorizationServer.refresh): unverified at MYOB.

    def connect(self, client_id: str, business_id: str, scope: str) -> dict:
        return self.connected(client_id, business_id, scope)

    def _issue(self, grant: Grant) -> dict:
        now = self.clock()
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
        self.store.access[access] = Token(grant.grant_id, now + self.config.access_token_ttl)
        self.store.refresh[refresh] = Token(grant.grant_id, now + self.config.refresh_token_ttl)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(self.config.access_token_ttl),
            "refresh_token": refresh,
            "scope": grant.scope,
            "user": {"uid": grant.grant_id, "username": "admin@emulated.myob"},
        }

    def access(self, authorization: str | None) -> Grant:
        found = self._bearer(authorization)
        if found is None or self.clock() >= found.expires_at:
            raise BearerError()
        grant = self.store.grants[found.grant_id]
        if grant.revoked:
            raise BearerError()
        return grant

    def authenticate(self, request: Request) -> str:
        """Client credentials in the form, as MYOB's page shows them: the client's id."""
        form = request.form
        return self._client_checked(form.get("client_id", ""), form.get("client_secret", ""))


# --- HTTP --------------------------------------------------------------------------------------

_html = consent_pages(title="MYOB (emulated)", accent="#6100a5", background="#f3f0f8")


def authorize(emulator, request: Request) -> Response:
    """GET: sign-in and the company file choice; its form POSTs back here."""
    params, refusal = authorize_request(
        emulator,
        request,
        names=AUTHORIZE_PARAMS,
        html=_html,
        unknown_client="<h1>Unknown API key</h1><p>{client_id}</p>",
        scope_ok=lambda scope: bool(scope.strip()),
    )
    if refusal is not None:
        return refusal
    redirect_uri, state = params["redirect_uri"], params["state"]
    files = emulator.company_names()
    if request.method == "GET":
        return _html(
            "<h1>Allow access to your MYOB business</h1>"
            '<p class="muted">This is the local MYOB emulator: no my.MYOB account is '
            "involved. Only an administrator of the company file can allow access.</p>"
            + tenant_choice(params, field="business_id", tenants=files, heading="Choose a business")
            + consent_buttons("Allow access")
        )
    business_id = chosen_tenant(request, field="business_id", tenants=files)
    names = dict(files)
    if not business_id:
        return redirect_back(redirect_uri, error="access_denied", state=state)
    code = emulator.oauth.approve(params["client_id"], business_id, params["scope"], redirect_uri)
    return redirect_back(
        redirect_uri,
        code=code,
        state=state,
        scope=params["scope"],
        businessId=business_id,
        businessName=names[business_id],
    )


def token(emulator, request: Request) -> Response:
    """`POST /oauth2/v1/authorize`: the code exchange or a refresh, client credentials in the
    form (as MYOB's page shows them)."""
    return token_endpoint(emulator, request, respond=json_response)
