"""What the three ledgers' connectors do over HTTP the same way, so each says only how its
ledger differs: the OAuth2 consent page's address and token request, redaction of what the call
log keeps, the access token's lifecycle (refreshed before it expires, the rotated refresh token
saved at once), the error for a call the ledger did not answer, and the call record.

`LedgerClient` is the base of each connector's client (`xero/client.py`, `qbo/client.py`,
`myob/client.py`); the connector's operations sit on top of it, behind the one interface in
`base.Connector`.
"""

import datetime
import functools
import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlencode

import certifi
import httpx

from integrations.connectors.base import Connector
from integrations.connectors.errors import (
    AuthError,
    ConfigurationError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.types import (
    CallRecord,
    ConnectorContext,
    LedgerTenant,
    OAuthCredentials,
)

logger = logging.getLogger(__name__)

# Refresh a little before expiry so that a slow request does not arrive with a dead token.
REFRESH_MARGIN = datetime.timedelta(seconds=60)
BODY_LOG_LIMIT = 4000
# An OAuth2 error code (RFC 6749 §5.2) is safe to show; anything else the token service says is
# logged, never shown (it could be any page a misconfigured address answers with).
OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def redact(text: str, *, keys: tuple[str, ...]) -> str:
    """`text` with the values of `keys` (as JSON members or form fields) starred out, cut to
    what the call log keeps."""
    if not any(key in text for key in keys):  # no regex scan of every logged body (slow)
        return text[:BODY_LOG_LIMIT]
    names = "|".join(keys)
    text = re.sub(rf'("?({names})"?\s*[:=]\s*"?)[^"&,\s]+', r"\1***", text)
    return text[:BODY_LOG_LIMIT]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every call to a ledger verifies with (certifi's CA bundle, as httpx's
    default), made once a process: loading the bundle costs about 23 ms of CPU, a sixth of a
    MYOB push's when each connector made its own (one connector a push, one push a bill)."""
    return ssl.create_default_context(cafile=certifi.where())


def ledger_http_client(context: ConnectorContext, **options) -> httpx.Client:
    """The HTTP client a connector calls its ledger's API with: the context's transport,
    timeout and before-request hook, and the connector's own headers (and TLS context)."""
    return httpx.Client(
        transport=context.transport,
        timeout=httpx.Timeout(context.timeout_seconds, connect=5.0),
        event_hooks={"request": [lambda request: context.before_request()]},
        **options,
    )


def response_json(response: httpx.Response, default=None):
    """The answer's JSON, or `default` when its body is not JSON (an error page, nothing)."""
    try:
        return response.json()
    except ValueError:
        return default


def oauth_token_request(
    token_url: str,
    form: dict,
    *,
    service: str,
    ledger: str,
    explain: Callable[[str], tuple],
    redact: Callable[[str], str],
    default_expires_in: int,
    default_scope: str,
    auth: tuple[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 20.0,
    refused_code: str = "invalid_grant",
    without_token: tuple[str, str] | None = None,
) -> OAuthCredentials:
    """POST an OAuth2 token request (a code exchange or a refresh) to a ledger's token service
    and read its credentials: no answer or a 5xx is transient, anything but an access token an
    AuthError explained by the ledger's catalogue (`explain(code)` → (class, explanation, hint);
    `refused_code` when the service names none). `service` names the token service in messages
    ("Intuit's token service"), `ledger` the one that refused ("Intuit"); `without_token`
    (explanation, hint) tells a 200 without an access token apart from a refusal. A refresh
    answered without a new refresh token keeps the old one."""
    try:
        with httpx.Client(transport=transport, timeout=timeout, verify=tls_context()) as client:
            response = client.post(
                token_url, data=form, auth=auth, headers={"Accept": "application/json"}
            )
    except httpx.TransportError as error:
        raise TransientError(f"{service} did not answer: {error}") from error
    if response.status_code >= 500:
        raise TransientError(
            f"{service} failed ({response.status_code}).", http_status=response.status_code
        )
    body = response_json(response, {})
    has_token = isinstance(body, dict) and isinstance(body.get("access_token"), str)
    if response.status_code == 200 and not has_token and without_token is not None:
        logger.warning("%s answered without an access token: %s", service, redact(response.text))
        explanation, hint = without_token
        raise AuthError(
            f"{service} answered without an access token.",
            raw=redact(response.text),
            http_status=response.status_code,
            explanation=explanation,
            hint=hint,
        )
    if response.status_code != 200 or not has_token:
        code = body.get("error", "") if isinstance(body, dict) else ""
        code = code if OAUTH_ERROR_CODE.fullmatch(str(code)) else ""
        logger.warning(
            "%s refused (HTTP %s): %s", service, response.status_code, redact(response.text)
        )
        _, explanation, hint = explain(code or refused_code)
        raise AuthError(
            f"{ledger} refused the token request (HTTP {response.status_code}"
            f"{': ' + code if code else ''}).",
            raw=redact(response.text),
            http_status=response.status_code,
            explanation=explanation,
            hint=hint,
        )
    return OAuthCredentials(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", form.get("refresh_token", "")),
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=int(body.get("expires_in") or default_expires_in)),
        scope=body.get("scope") or default_scope,
    )


class LedgerEndpoints:
    """A ledger's endpoints (a frozen dataclass of URLs per ledger): its real ones, or an
    emulator's, which serves every endpoint from one root (`base_url`) under the same paths."""

    real: ClassVar[dict[str, str]]  # endpoint -> the ledger's URL
    emulated: ClassVar[dict[str, str]]  # endpoint -> its path under an emulator's root

    @classmethod
    def for_base_url(cls, base_url: str):
        if not base_url:
            return cls(**cls.real)
        root = base_url.rstrip("/")
        return cls(**{name: f"{root}{path}" for name, path in cls.emulated.items()})


class LedgerClient(Connector):
    """A connector's HTTP client: its httpx client, its OAuth2 tokens, and the failures every
    ledger answers alike. A ledger's client sets the class attributes and `token_request`."""

    ledger: ClassVar[str]  # the ledger's name in messages ("QuickBooks")
    endpoints_class: ClassVar[type[LedgerEndpoints]]
    reconnect_hint: ClassVar[str]  # where an admin reconnects it, from its catalogue
    redacted_keys: ClassVar[tuple[str, ...]]  # what the call log stars out
    client_id: ClassVar[Callable[[], str]]  # our app's client id at the ledger, from settings
    scope: ClassVar[str]  # what the consent asks the ledger for
    authorize_params: ClassVar[dict] = {}  # what the consent's address carries beside OAuth2's
    code_form: ClassVar[dict] = {}  # what a code exchange sends beside the code
    # The ledger's catalogue: its code or message -> (error class, explanation, hint).
    explain: ClassVar[Callable[[str], tuple]]
    # The call log keeps a request body that begins so as text, any other as its size.
    text_bodies: ClassVar[tuple[str, ...]] = ("{", "[")
    rate_limit_headers: ClassVar[tuple[str, ...]] = ()  # answer headers the call log keeps
    default_content_type: ClassVar[str] = "application/octet-stream"  # of a non-JSON body
    json_default: ClassVar[Callable | None] = None  # json.dumps' `default` for a JSON body

    def __init__(self, context, *, headers: dict | None = None):
        super().__init__(context)
        self.endpoints = self.endpoints_for(context.base_url)
        self._client = ledger_http_client(
            context,
            verify=tls_context(),
            headers={
                "User-Agent": "ledgersync/0.1",
                "Accept": "application/json",
                **(headers or {}),
            },
        )

    def close(self) -> None:
        self._client.close()

    def list_tenants(self) -> list[LedgerTenant]:
        """The one tenant the connection check names: a token for one company (QuickBooks'
        realm, MYOB's company file). A ledger whose token reaches several lists them itself."""
        check = self.check_connection()
        return [LedgerTenant(tenant_id=check.tenant_id, name=check.tenant_name)]

    @classmethod
    def endpoints_for(cls, base_url: str) -> LedgerEndpoints:
        """The ledger's endpoints: its real ones, or an emulator's at `base_url`."""
        return cls.endpoints_class.for_base_url(base_url)

    @classmethod
    def token_request(
        cls, token_url: str, form: dict, *, transport=None, timeout: float = 20.0
    ) -> OAuthCredentials:
        """`oauth_token_request` with the ledger's service, client authentication and defaults."""
        raise NotImplementedError

    @classmethod
    def redact(cls, text: str) -> str:
        return redact(text, keys=cls.redacted_keys)

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str:
        """The ledger's consent page for OAuth2's authorization request (RFC 6749 §4.1.1),
        with the ledger's scope and `authorize_params`."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": cls.client_id(),
                "redirect_uri": redirect_uri,
                "scope": cls.scope,
                "state": state,
                **cls.authorize_params,
            }
        )
        return f"{cls.endpoints_for(base_url).authorize}?{query}"

    @classmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials:
        return cls.token_request(
            cls.endpoints_for(base_url).token,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                **cls.code_form,
            },
            transport=transport,
        )

    @staticmethod
    def _callback_param(params, name: str, *, message: str, explanation: str, hint: str) -> str:
        """The tenant the user chose at consent, from the callback's `name` parameter; an
        AuthError saying so when the ledger sent none."""
        value = params.get(name, "")
        if not value:
            raise AuthError(message, explanation=explanation, hint=hint)
        return value

    def _tenant(self, *, message: str, explanation: str) -> str:
        """The connection's tenant id; a ConfigurationError pointing to a reconnect without one."""
        if not self.context.tenant_id:
            raise ConfigurationError(message, explanation=explanation, hint=self.reconnect_hint)
        return self.context.tenant_id

    def _disconnected(self, message: str) -> AuthError:
        return AuthError(
            message,
            explanation=f"The connection holds no {self.ledger} tokens (it was disconnected).",
            hint=self.reconnect_hint,
        )

    def refresh_credentials(self) -> OAuthCredentials:
        with self.context.refresh_lock() as saved:
            held = self.context.credentials
            if saved is not None and held is not None and saved != held:
                # Another process refreshed while this one waited (or since it read them):
                # theirs are the tokens now, and the refresh token held here may be spent.
                self.context.credentials = saved
                if saved.expires_at - REFRESH_MARGIN > datetime.datetime.now(datetime.UTC):
                    return saved
            return self._refresh_now()

    def _refresh_now(self) -> OAuthCredentials:
        credentials = self.context.credentials
        if credentials is None or not credentials.refresh_token:
            raise self._disconnected(f"There are no {self.ledger} credentials to refresh.")
        fresh = self.token_request(
            self.endpoints.token,
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
            transport=self.context.transport,
            timeout=self.context.timeout_seconds,
        )
        # Xero rotates the refresh token at every refresh, Intuit may, MYOB's is unverified:
        # the old one may now be dead, so keep the latest, saved at once.
        self.context.credentials = fresh
        self.context.save_credentials(fresh)
        return fresh

    def _access_token(self) -> str:
        credentials = self.context.credentials
        if credentials is None:
            raise self._disconnected(f"The connection has no {self.ledger} credentials.")
        if credentials.expires_at - REFRESH_MARGIN <= datetime.datetime.now(datetime.UTC):
            credentials = self.refresh_credentials()
        return credentials.access_token

    # --- calls ---------------------------------------------------------------------------------

    def _authorized(
        self, method: str, url: str, *, body: bytes | None, headers: dict, is_write: bool, **kwargs
    ) -> httpx.Response:
        """One call with the bearer token, recorded: a 401 refreshes the token and sends it once
        more, so does an answer `_once_more(response, is_write)` says to wait out; a call the
        ledger did not answer raises. What the answer means is the caller's to read."""
        refreshed = again = False
        while True:
            headers["Authorization"] = f"Bearer {self._access_token()}"
            started = time.monotonic()
            try:
                response = self._client.request(
                    method, url, content=body, headers=headers, **kwargs
                )
            except httpx.TransportError as error:
                self._record(method, url, None, started, body, error=repr(error))
                raise self._no_answer(error, is_write=is_write) from error
            self._record(method, url, response, started, body)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.refresh_credentials()
                continue
            if not again and self._once_more(response, is_write=is_write):
                again = True
                continue
            return response

    def _once_more(self, response: httpx.Response, *, is_write: bool) -> bool:
        """Whether to send a call once more after this answer (having waited what it asks)."""
        return False

    def _no_answer(self, error: httpx.TransportError, *, is_write: bool):
        """The error for a call the ledger did not answer: a write whose request may have
        reached it has an unknown outcome; anything else is transient."""
        reached = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        error_class = UnknownOutcomeError if is_write and reached else TransientError
        return error_class(
            f"{self.ledger} did not answer ({type(error).__name__}).",
            explanation=f"The connection to {self.ledger} failed or timed out.",
            hint=f"Nothing to do: ledgersync retries automatically and checks {self.ledger} "
            "before creating anything again.",
        )

    def _failed(self, status: int, raw: str) -> TransientError:
        """The error for a 5xx: the ledger's own trouble, retried."""
        return TransientError(
            f"{self.ledger} failed with HTTP {status}.",
            raw=raw,
            http_status=status,
            explanation=f"{self.ledger} had a problem of its own or is unavailable.",
            hint="Nothing to do: ledgersync retries automatically.",
        )

    def _catalogued(self, error_class, message: str, code: str, *, raw: str, status: int, **fields):
        """`error_class(message)` with the words the ledger's catalogue has for `code`."""
        _, explanation, hint = self.explain(code)
        return error_class(
            message, raw=raw, http_status=status, explanation=explanation, hint=hint, **fields
        )

    def _record(
        self,
        method: str,
        url,
        response: httpx.Response | None,
        started: float,
        body: bytes | None,
        error: str = "",
    ) -> None:
        """Hand one exchange, redacted, to the context's call log: the request body as
        `_request_text` keeps it, and the answer's `rate_limit_headers`."""
        rate_limit = {
            name: response.headers[name]
            for name in self.rate_limit_headers
            if response is not None and name in response.headers
        }
        self.context.record_call(
            CallRecord(
                method=method,
                # With the query string: what was searched matters to whoever reads the log.
                url=str(response.request.url) if response is not None else str(url),
                http_status=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_body=self.redact(self._request_text(body)),
                response_body=self.redact(response.text) if response is not None else "",
                rate_limit=rate_limit,
                error=error,
            )
        )

    def _request_text(self, body: bytes | None) -> str:
        """A request body as the call log keeps it: text that begins as `text_bodies` do, else
        its size (a file)."""
        text = body.decode(errors="replace") if isinstance(body, bytes) else ""
        if text and not text.lstrip().startswith(self.text_bodies):
            return f"<{len(body)} bytes>"
        return text

    def _encoded(
        self, json_body, content: bytes | None, content_type: str, headers: dict
    ) -> bytes | None:
        """The body of a call (JSON, or `content` of `content_type`, else the ledger's
        `default_content_type`), its Content-Type set in `headers`."""
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            return json.dumps(json_body, default=self.json_default).encode()
        if content is not None:
            headers["Content-Type"] = content_type or self.default_content_type
        return content


def chunked(values, size: int) -> list[list]:
    """The distinct non-empty `values`, sorted, in lists of at most `size`: the ids or numbers
    one query (or one URL) may name at once."""
    wanted = sorted({value for value in values if value})
    return [wanted[start : start + size] for start in range(0, len(wanted), size)]
