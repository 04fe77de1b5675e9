"""Xero's HTTP client: its endpoints, OAuth2 (the consent URL and Xero's token service, over a
TLS context loaded once a process), one call with auth, a refresh and one retry on a 401, and
Xero's answers mapped to our errors (a 403 for a tenant told apart: gone or no longer active).
The connections list is in lookups.py, the revocation in connector.py.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings

from integrations.connectors.client import (
    BODY_LOG_LIMIT,
    LedgerClient,
    LedgerEndpoints,
    oauth_token_request,
    response_json,
)
from integrations.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    OrganisationGoneError,
    RateLimitedError,
    SubscriptionError,
)
from integrations.connectors.types import OAuthCredentials
from integrations.connectors.xero.catalogue import (
    RECONNECT_HINT,
    classified,
    explain,
    validation_messages,
)
from integrations.connectors.xero.payloads import json_number

SCOPES = (
    "offline_access accounting.transactions accounting.contacts accounting.settings "
    "accounting.attachments"
)
RATE_LIMIT_HEADERS = ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining")


def _client_id() -> str:
    return settings.XERO_CLIENT_ID


@dataclass(frozen=True)
class XeroEndpoints(LedgerEndpoints):
    authorize: str
    token: str
    revocation: str
    connections: str
    api: str

    real = {
        "authorize": "https://login.xero.com/identity/connect/authorize",
        "token": "https://identity.xero.com/connect/token",
        "revocation": "https://identity.xero.com/connect/revocation",
        "connections": "https://api.xero.com/connections",
        "api": "https://api.xero.com/api.xro/2.0",
    }
    emulated = {
        "authorize": "/identity/connect/authorize",
        "token": "/connect/token",
        "revocation": "/connect/revocation",
        "connections": "/connections",
        "api": "/api.xro/2.0",
    }


class XeroClient(LedgerClient):
    ledger = "Xero"
    endpoints_class = XeroEndpoints
    reconnect_hint = RECONNECT_HINT
    explain = staticmethod(explain)
    redacted_keys = ("access_token", "refresh_token", "id_token")
    client_id = staticmethod(_client_id)
    scope = SCOPES
    rate_limit_headers = RATE_LIMIT_HEADERS
    json_default = staticmethod(json_number)

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def token_request(
        cls, token_url: str, form: dict, *, transport=None, timeout: float = 20.0
    ) -> OAuthCredentials:
        return oauth_token_request(
            token_url,
            form,
            service="Xero's token service",
            ledger="Xero",
            auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
            explain=cls.explain,
            redact=cls.redact,
            default_expires_in=1800,
            default_scope="",
            transport=transport,
            timeout=timeout,
            refused_code="token refused",
            without_token=(
                "The sign-in reached an address that did not answer as Xero's token "
                "service does, so no access was granted.",
                "Try connecting again; if it keeps failing, check the ledger address and the "
                "Xero app's client id and secret.",
            ),
        )

    # --- HTTP ----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json_body: dict | None = None,
        content: bytes | None = None,
        content_type: str = "",
        idempotency_key: str = "",
        tenant: bool = True,
        headers: dict | None = None,
    ) -> httpx.Response:
        """One call with auth; refreshes and retries once on a 401; maps failures to our errors."""
        is_write = method in ("PUT", "POST", "DELETE")
        headers = dict(headers or {})
        body = self._encoded(json_body, content, content_type, headers)
        if tenant:
            headers["xero-tenant-id"] = self.context.tenant_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:128]

        response = self._authorized(
            method, url, params=params, body=body, headers=headers, is_write=is_write
        )
        if response.status_code == 403 and tenant:
            raise self._tenant_refused(response)
        if response.status_code >= 400:
            raise self._error_for(response)
        return response

    def _tenant_refused(self, response: httpx.Response) -> ConnectorError:
        """Xero answers 403 (AuthenticationUnsuccessful) for a tenant it will not serve: the
        organisation was deleted or disconnected from us (no connection to it is left: 4040),
        or it is still connected but no longer active, its subscription or free trial ended
        (4260). GET /connections tells which."""
        refused = self._error_for(response)
        try:
            connected = any(t.tenant_id == self.context.tenant_id for t in self.list_tenants())
        except ConnectorError:
            return refused  # the token itself is refused: a reconnect decides
        if not connected:
            return OrganisationGoneError(
                "The Xero organisation is gone: it was deleted, or disconnected from "
                "ledgersync in Xero (HTTP 403).",
                raw=refused.raw,
                http_status=403,
                explanation="Xero no longer lists a connection to this organisation, so it "
                "takes nothing from ledgersync.",
                hint="If the organisation still exists, an admin reconnects it: Integrations › "
                "the Xero connection › Reconnect. The waiting entries are pushed then.",
            )
        return SubscriptionError(
            "Xero refused the call: the organisation is connected but no longer active (HTTP 403).",
            raw=refused.raw,
            http_status=403,
            explanation="Xero stops serving an organisation whose subscription or free trial "
            "has ended (or whose connecting user lost the right to use the API).",
            hint="Renew the organisation's Xero subscription (or give the connecting user back "
            "their role), then retry the failed items.",
        )

    def _error_for(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        body = response_json(response, response.text)
        raw = response.text[:BODY_LOG_LIMIT]
        if status == 429:
            retry_after = float(response.headers.get("Retry-After", "60") or 60)
            problem = response.headers.get("X-Rate-Limit-Problem", "")
            return self._catalogued(
                RateLimitedError,
                f"Xero's rate limit was reached ({problem or 'limit'}); retry in "
                f"{retry_after:g} s.",
                "rate limit",
                raw=raw,
                status=status,
                retry_after=retry_after,
                problem=problem,
            )
        if status >= 500:
            return self._failed(status, raw)
        if status in (401, 403):
            detail = body.get("Detail", "") if isinstance(body, dict) else ""
            return self._catalogued(
                AuthError,
                f"Xero refused access (HTTP {status}{': ' + detail if detail else ''}).",
                detail or ("Forbidden" if status == 403 else "TokenExpired"),
                raw=raw,
                status=status,
            )
        if status == 404:
            return self._catalogued(
                NotFoundError, "Xero has no such entry.", "not found", raw=raw, status=status
            )
        messages = validation_messages(body)
        return classified(messages or [str(body)[:500]], raw=raw, http_status=status)
