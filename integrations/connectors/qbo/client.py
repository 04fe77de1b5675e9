"""QuickBooks Online's HTTP client: its endpoints, OAuth2 (Intuit's token and revocation
services; the company is the realm named on the callback), one call to the company's API with
auth and minorversion, a refresh and one retry on a 401, Intuit's answers (a Fault even in a
200) mapped to our errors, and the query endpoint.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings

from integrations.connectors.client import (
    BODY_LOG_LIMIT,
    LedgerClient,
    LedgerEndpoints,
    chunked,
    oauth_token_request,
    response_json,
)
from integrations.connectors.errors import (
    AuthError,
    ConnectorError,
    LedgerValidationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
)
from integrations.connectors.qbo.catalogue import (
    DEFAULT_RETRY_AFTER,
    RECONNECT_HINT,
    classified,
    explain,
    fault_errors,
)
from integrations.connectors.types import OAuthCredentials

SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = "75"  # Intuit retired 1-74 on 2025-08-01
NUMBERS_PER_QUERY = 100
NOT_FOUND = "610"
QUERY_PAGE = 1000  # MAXRESULTS at most 1000


def _client_id() -> str:
    return getattr(settings, "QBO_CLIENT_ID", "ledgersync-qbo-dev")


def _client_secret() -> str:
    return getattr(settings, "QBO_CLIENT_SECRET", "ledgersync-qbo-dev-secret")


@dataclass(frozen=True)
class QboEndpoints(LedgerEndpoints):
    authorize: str
    token: str
    revocation: str
    api: str  # up to /v3/company

    real = {
        "authorize": "https://appcenter.intuit.com/connect/oauth2",
        "token": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revocation": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        "api": "https://quickbooks.api.intuit.com/v3/company",
    }
    emulated = {
        "authorize": "/connect/oauth2",
        "token": "/oauth2/v1/tokens/bearer",
        "revocation": "/v2/oauth2/tokens/revoke",
        "api": "/v3/company",
    }


class QboClient(LedgerClient):
    ledger = "QuickBooks"
    endpoints_class = QboEndpoints
    reconnect_hint = RECONNECT_HINT
    explain = staticmethod(explain)
    redacted_keys = ("access_token", "refresh_token", "token")
    client_id = staticmethod(_client_id)
    scope = SCOPE
    text_bodies = ("{", "[", "select")  # a query is text too
    rate_limit_headers = ("intuit_tid",)  # Intuit's id of the exchange, for its support
    default_content_type = "application/text"

    @property
    def realm_id(self) -> str:
        # Intuit has no call that lists a token's companies: the callback's realmId is it.
        return self._tenant(
            message="The QuickBooks connection has no company (realmId).",
            explanation="The connection was saved without the company chosen at sign-in.",
        )

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        return cls.realm_from_callback(params)

    @staticmethod
    def realm_from_callback(params) -> str:
        """The company the user chose: Intuit puts `realmId` on the redirect, beside `code`."""
        return QboClient._callback_param(
            params,
            "realmId",
            message="QuickBooks sent no company (realmId) back.",
            explanation="The sign-in finished without naming the QuickBooks company.",
            hint="Try connecting again and choose a company.",
        )

    @classmethod
    def token_request(
        cls, token_url: str, form: dict, *, transport=None, timeout: float = 20.0
    ) -> OAuthCredentials:
        return oauth_token_request(
            token_url,
            form,
            service="Intuit's token service",
            ledger="Intuit",
            auth=(_client_id(), _client_secret()),
            explain=cls.explain,
            redact=cls.redact,
            default_expires_in=3600,
            default_scope=SCOPE,
            transport=transport,
            timeout=timeout,
        )

    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        """Intuit has one link per app and company, and revoking the token is what ends it."""
        credentials = self.context.credentials
        token = credentials.refresh_token if credentials else ""
        if not token:
            return
        try:
            response = self._client.post(
                self.endpoints.revocation,
                json={"token": token},
                auth=(_client_id(), _client_secret()),
            )
        except httpx.TransportError as error:
            raise TransientError(f"Intuit's revocation service did not answer: {error}") from error
        if response.status_code >= 500:
            raise TransientError(f"Intuit's revocation service failed ({response.status_code}).")

    # --- HTTP ----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json_body=None,
        content: bytes | None = None,
        files=None,
        content_type: str = "",
    ) -> httpx.Response:
        """One call to /v3/company/{realm}/{path} with auth and minorversion; refreshes and
        retries once on a 401; maps failures to our errors."""
        url = f"{self.endpoints.api}/{self.realm_id}/{path}"
        params = {"minorversion": MINOR_VERSION, **(params or {})}
        headers = {}
        body = self._encoded(json_body, content, content_type, headers)
        is_write = method == "POST" and path != "query"
        response = self._authorized(
            method, url, params=params, files=files, body=body, headers=headers, is_write=is_write
        )
        if response.status_code >= 400 or self._has_fault(response):
            raise self._error_for(response)
        return response

    @staticmethod
    def _has_fault(response: httpx.Response) -> bool:
        """Intuit: "200 OK ... the response body may contain a Fault element"."""
        if b'"Fault"' not in response.content[:200]:
            return False
        body = response_json(response)
        return isinstance(body, dict) and "Fault" in body

    def _error_for(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        raw = response.text[:BODY_LOG_LIMIT]
        body = response_json(response)
        errors = fault_errors(body)
        if status == 429:
            retry_after = float(response.headers.get("Retry-After") or DEFAULT_RETRY_AFTER)
            return self._catalogued(
                RateLimitedError,
                f"QuickBooks' throttle was reached; retry in {retry_after:g} s.",
                "429",
                raw=raw,
                status=status,
                retry_after=retry_after,
            )
        if status >= 500:
            return self._failed(status, raw)
        if status in (401, 403):
            code = str(errors[0].get("code", "")) if errors else str(status)
            return self._catalogued(
                AuthError,
                f"QuickBooks refused access (HTTP {status}).",
                code if code in ("3200", "3100", "120") else str(status),
                raw=raw,
                status=status,
            )
        return classified(errors, raw=raw, http_status=status)

    # --- queries -------------------------------------------------------------------------------

    def _query(self, text: str) -> dict:
        response = self._send(
            "POST", "query", content=text.encode(), content_type="application/text"
        )
        return response.json().get("QueryResponse", {})

    def _query_all(self, entity: str, where: str = "") -> list[dict]:
        rows, start = [], 1
        while True:
            page = self._query(
                f"select * from {entity}{' where ' + where if where else ''} "
                f"STARTPOSITION {start} MAXRESULTS {QUERY_PAGE}"
            ).get(entity, [])
            rows += page
            if len(page) < QUERY_PAGE:
                return rows
            start += QUERY_PAGE

    def _read(self, entity: str, external_id: str) -> dict:
        try:
            return self._send("GET", f"{entity.lower()}/{external_id}").json()[entity]
        except LedgerValidationError as error:
            if getattr(error, "qbo_code", "") == NOT_FOUND:
                raise NotFoundError(
                    f"QuickBooks has no {entity} {external_id}.",
                    raw=error.raw,
                    http_status=error.http_status,
                    explanation=error.explanation,
                    hint=error.hint,
                ) from error
            raise

    def _rows_by_id(self, entity: str, ids) -> list[dict]:
        rows = []
        for chunk in chunked(ids, NUMBERS_PER_QUERY):
            rows += self._query_all(entity, f"Id in ({', '.join(quoted(i) for i in chunk)})")
        return rows


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
