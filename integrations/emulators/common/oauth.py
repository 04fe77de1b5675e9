"""What the QuickBooks Online and MYOB emulators' OAuth 2.0 servers share: the authorization
server's codes, tokens and grants (`AuthorizationServer`: a consent's code exchanged once, access
tokens expired on demand, every grant revoked, redirect URIs checked; each ledger issues its own
tokens and refreshes by its own rules), and the consent pages: their small styled HTML page in
the ledger's colours, the form that chooses a tenant, and the redirect back to the client with
the answer's parameters (the empty ones left out)."""

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response


def html_page(body: str, *, title: str, style: str, status: int = 200) -> Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{style}</style></head><body><main>{body}"
        "</main></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


CONSENT_STYLE = """\
body{{font-family:system-ui,sans-serif;background:{background};margin:0;padding:3rem}}
main{{max-width:30rem;margin:auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 1px 4px rgba(0,0,0,.15)}}h1{{font-size:1.3rem}}.muted{{color:#555;font-size:.9rem}}
button{{font-size:1rem;padding:.5rem 1.2rem;border-radius:4px;border:1px solid {accent};
cursor:pointer}}.allow{{background:{accent};color:#fff}}.cancel{{background:#fff;color:{accent}}}"""


def consent_style(*, accent: str, background: str) -> str:
    """The consent page's CSS in the ledger's colours."""
    return CONSENT_STYLE.format(accent=accent, background=background)


def consent_pages(*, title: str, accent: str, background: str):
    """The ledger's `html(body, status=200)`: a page with its title, in its colours."""
    style = consent_style(accent=accent, background=background)
    return lambda body, status=200: html_page(body, title=title, style=style, status=status)


def tenant_choice(params: dict, *, field: str, tenants: list[tuple[str, str]], heading: str) -> str:
    """The consent form's opening: the authorize request's parameters carried over, and under
    `heading` one radio button a tenant (id, name), the first checked; the buttons follow."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    choices = "".join(
        f'<li><label><input type="radio" name="{field}" value="{escape(tenant_id)}"'
        f"{' checked' if index == 0 else ''}> {escape(name)}</label></li>"
        for index, (tenant_id, name) in enumerate(tenants)
    )
    return f'<form method="post">{hidden}<h2>{heading}</h2><ul>{choices}</ul>'


def chosen_tenant(request, *, field: str, tenants: list[tuple[str, str]]) -> str:
    """The tenant the consent form allowed ("" when cancelled or not one of `tenants`); a form
    need not name the only one."""
    chosen = request.form.get(field) or (tenants[0][0] if len(tenants) == 1 else "")
    if request.form.get("action") == "cancel" or chosen not in dict(tenants):
        return ""
    return chosen


CONSENT_BUTTONS = (
    '<button class="allow" type="submit" name="action" value="allow">{allow}</button> '
    '<button class="cancel" type="submit" name="action" value="cancel">Cancel</button></form>'
)


def consent_buttons(allow: str) -> str:
    """The consent form's end: its Allow button (in the ledger's words) and Cancel."""
    return CONSENT_BUTTONS.format(allow=allow)


def authorize_request(
    emulator, request, *, names: tuple[str, ...], html, unknown_client: str, scope_ok
) -> tuple[dict[str, str], Response | None]:
    """The authorize request's parameters `names` (from the consent form that POSTs back, else
    the query) and the answer refusing it, if it must be: a page for an unknown client or
    redirect URI (`html(body, status)`, `unknown_client` the page's body, with `{client_id}`),
    a redirect back with the error for a response_type other than code or a scope that
    `scope_ok(scope)` refuses."""
    source = request.form if request.method == "POST" else request.args
    params = {name: source.get(name, "") for name in names}
    if params["client_id"] != emulator.config.client_id:
        return params, html(unknown_client.format(client_id=escape(params["client_id"])), 400)
    if not emulator.oauth.redirect_uri_allowed(params["redirect_uri"]):
        return params, html("<h1>The redirect_uri is missing or not registered.</h1>", 400)
    redirect_uri, state = params["redirect_uri"], params["state"]
    if params["response_type"] != "code":
        return params, redirect_back(redirect_uri, error="unsupported_response_type", state=state)
    if not scope_ok(params["scope"]):
        return params, redirect_back(redirect_uri, error="invalid_scope", state=state)
    return params, None


def token_endpoint(emulator, request, *, respond) -> Response:
    """A POST to the token endpoint: the client authenticated as its ledger takes credentials
    (`oauth.authenticate(request)` gives its id), then a code exchanged or a refresh token
    rotated; the answer or the error as JSON by `respond(body, status=200, headers=None)`."""
    oauth = emulator.oauth
    form = request.form
    try:
        client_id = oauth.authenticate(request)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            answer = oauth.exchange(client_id, form.get("code", ""), form.get("redirect_uri", ""))
        elif grant_type == "refresh_token":
            answer = oauth.refresh(client_id, form.get("refresh_token", ""))
        else:
            raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return respond({"error": exc.error}, exc.status)
    return respond(answer, headers={"Cache-Control": "no-store"})


def redirect_back(redirect_uri: str, **params) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    query = urlencode({k: v for k, v in params.items() if v})
    return redirect(f"{redirect_uri}{separator}{query}", code=302)


class OAuthError(Exception):
    """A token request refused: its RFC 6749 error code and HTTP status."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass
class Code:
    grant_id: str
    redirect_uri: str
    expires_at: float


@dataclass
class Token:
    grant_id: str
    expires_at: float
    used: bool = False  # a refresh token, once spent (rotation)


@dataclass
class TokenStore:
    grants: dict = field(default_factory=dict)  # grant id -> the ledger's Grant
    codes: dict[str, Code] = field(default_factory=dict)
    access: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, Token] = field(default_factory=dict)


class AuthorizationServer:
    """An emulated authorization server's grants, codes and tokens. A ledger's server says how a
    code looks (`code_prefix`, `code_bytes`) and issues its tokens (`_issue(grant)`)."""

    code_prefix = ""
    code_bytes = 24

    def __init__(self, config, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.store = TokenStore()

    def reset(self) -> None:
        self.store = TokenStore()

    def _code_for(self, grant, redirect_uri: str) -> str:
        """Keep the consent and give the single-use code the client exchanges for tokens."""
        self.store.grants[grant.grant_id] = grant
        code = self.code_prefix + secrets.token_urlsafe(self.code_bytes)
        self.store.codes[code] = Code(
            grant.grant_id, redirect_uri, self.clock() + self.config.authorization_code_ttl
        )
        return code

    def exchange(self, client_id: str, code: str, redirect_uri: str) -> dict:
        found = self.store.codes.pop(code or "", None)  # single use
        if found is None or self.clock() >= found.expires_at or found.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant")
        grant = self.store.grants[found.grant_id]
        if grant.client_id != client_id or grant.revoked:
            raise OAuthError("invalid_grant")
        return self._issue(grant)

    def _issue(self, grant) -> dict:
        raise NotImplementedError

    def refresh(self, client_id: str, token: str) -> dict:
        """A refresh token, once, for new tokens (rotation: the old one is spent)."""
        found = self.store.refresh.get(token or "")
        if found is None:
            raise OAuthError("invalid_grant")
        grant = self.store.grants[found.grant_id]
        now = self.clock()
        if (
            grant.client_id != client_id
            or grant.revoked
            or found.used
            or now >= found.expires_at
            or self._grant_too_old(grant, now)
        ):
            raise OAuthError("invalid_grant")
        found.used = True
        return self._issue(grant)

    def _grant_too_old(self, grant, now: float) -> bool:
        """Whether a consent is too old to refresh at all (a ledger with a maximum age)."""
        return False

    def connected(self, client_id: str, tenant_id: str, scope: str) -> dict:
        """A consent without a browser, its code exchanged at once: the token answer."""
        code = self.approve(client_id, tenant_id, scope, "urn:emulator")
        return self.exchange(client_id, code, "urn:emulator")

    def approve(self, client_id: str, tenant_id: str, scope: str, redirect_uri: str) -> str:
        raise NotImplementedError

    def _client_checked(self, client_id: str, secret: str) -> str:
        """`client_id` if these are the configured client's credentials; OAuthError
        invalid_client (401) otherwise."""
        if not (
            client_id == self.config.client_id
            and hmac.compare_digest(secret, self.config.client_secret)
        ):
            raise OAuthError("invalid_client", 401)
        return client_id

    def _bearer(self, authorization: str | None) -> Token | None:
        """The access token of an `Authorization: Bearer ...` header, if it is one issued."""
        scheme, _, token = (authorization or "").partition(" ")
        return self.store.access.get(token.strip()) if scheme.lower() == "bearer" else None

    def expire_access_tokens(self) -> None:
        now = self.clock()
        for token in self.store.access.values():
            token.expires_at = min(token.expires_at, now)

    def revoke_all(self) -> None:
        for grant in self.store.grants.values():
            grant.revoked = True

    def redirect_uri_allowed(self, uri: str) -> bool:
        if self.config.redirect_uris:
            return uri in self.config.redirect_uris
        return uri.startswith(("http://", "https://"))
