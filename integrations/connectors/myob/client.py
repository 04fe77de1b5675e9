"""MYOB's HTTP client: its endpoints, OAuth2 (MYOB's sign-in service; the company file is
the business named on the callback), one call with MYOB's headers, a refresh and one retry on a
401, a read refused by the per-second limit sent once more a second later, and MYOB's answers
mapped to our errors.
"""

import re
import time
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
)
from integrations.connectors.myob.catalogue import (
    PER_SECOND_RETRY,
    RECONNECT_HINT,
    classified,
    explain,
)
from integrations.connectors.types import OAuthCredentials

# NOTES.md, "OAuth 2.0": granular scopes for keys made after 12 March 2025 (the exact set our
# endpoints need is unverified).
MYOB_SCOPES = (
    "sme-company-file sme-contact-customer sme-contact-supplier sme-sales sme-purchases "
    "sme-banking sme-general-ledger"
)
# A read's wait for the next second (tests replace it: no test sleeps).
_pause = time.sleep


def _client_id() -> str:
    return getattr(settings, "MYOB_CLIENT_ID", "ledgersync-myob-dev")


def _client_secret() -> str:
    return getattr(settings, "MYOB_CLIENT_SECRET", "ledgersync-myob-dev-secret")


@dataclass(frozen=True)
class MyobEndpoints(LedgerEndpoints):
    authorize: str
    token: str
    api: str  # up to /accountright

    real = {
        "authorize": "https://secure.myob.com/oauth2/account/authorize",
        "token": "https://secure.myob.com/oauth2/v1/authorize",
        "api": "https://api.myob.com/accountright",
    }
    emulated = {
        "authorize": "/oauth2/account/authorize",
        "token": "/oauth2/v1/authorize",
        "api": "/accountright",
    }


class MyobClient(LedgerClient):
    ledger = "MYOB"
    endpoints_class = MyobEndpoints
    reconnect_hint = RECONNECT_HINT
    explain = staticmethod(explain)
    redacted_keys = ("access_token", "refresh_token", "client_secret", "code")
    client_id = staticmethod(_client_id)
    scope = MYOB_SCOPES
    # MYOB returns businessId only with a fresh consent (NOTES.md).
    authorize_params = {"prompt": "consent"}
    code_form = {"scope": MYOB_SCOPES}

    def __init__(self, context):
        super().__init__(
            context, headers={"Accept-Encoding": "gzip,deflate", "x-myobapi-version": "v2"}
        )

    @property
    def business_id(self) -> str:
        return self._tenant(
            message="The MYOB connection has no company file (businessId).",
            explanation="The connection was saved without the business chosen at sign-in.",
        )

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        return cls._callback_param(
            params,
            "businessId",
            message="MYOB sent no company file (businessId) back.",
            explanation="The sign-in finished without naming the MYOB business.",
            hint="Try connecting again and choose a business.",
        )

    @classmethod
    def token_request(
        cls, token_url: str, form: dict, *, transport=None, timeout: float = 20.0
    ) -> OAuthCredentials:
        # MYOB takes the API key and secret in the form, not as basic auth.
        return oauth_token_request(
            token_url,
            {"client_id": _client_id(), "client_secret": _client_secret(), **form},
            service="MYOB's sign-in service",
            ledger="MYOB",
            explain=cls.explain,
            redact=cls.redact,
            default_expires_in=1200,
            default_scope=MYOB_SCOPES,
            transport=transport,
            timeout=timeout,
        )

    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        """MYOB publishes no revocation endpoint (NOTES.md): disconnecting forgets our tokens,
        which the caller does; the admin removes the app's access in my.MYOB."""

    # --- HTTP ----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path  # a Location or NextPageLink MYOB gave us
        return f"{self.endpoints.api}/{self.business_id}/{path}"

    def _send(
        self, method: str, path: str, *, params: dict | None = None, json_body=None
    ) -> httpx.Response:
        """One call with MYOB's headers; refreshes and retries once on a 401; a read refused by
        the per-second limit waits that second out and is sent once more (the key's 8 a second
        are every tenant's, and a page's lists must not fail on a neighbour's burst); maps
        failures to our errors."""
        url = self._url(path)
        headers = {"x-myobapi-key": _client_id()}
        body = self._encoded(json_body, None, "", headers)
        is_write = method in ("POST", "PUT", "DELETE")
        response = self._authorized(
            method, url, params=params, body=body, headers=headers, is_write=is_write
        )
        if response.status_code >= 400:
            raise self._error_for(response)
        return response

    def _once_more(self, response: httpx.Response, *, is_write: bool) -> bool:
        # A read refused by the per-second limit waits that second out and goes once more (see
        # _send); a write is not sent again here.
        if response.status_code == 429 and not is_write:
            _pause(PER_SECOND_RETRY)
            return True
        return False

    def _request_text(self, body: bytes | None) -> str:
        # Every MYOB body is JSON; an attachment's file rides in it as base64.
        request_text = body.decode(errors="replace") if isinstance(body, bytes) else ""
        if '"FileBase64Content"' in request_text:
            request_text = re.sub(r'("FileBase64Content":\s*")[^"]*', r"\1<file>", request_text)
        return request_text

    def _error_for(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        raw = response.text[:BODY_LOG_LIMIT]
        body = response_json(response)
        errors = (
            [e for e in (body or {}).get("Errors", []) if isinstance(e, dict)]
            if isinstance(body, dict)
            else []
        )
        if status == 429:
            errors = errors or [{"Name": "RateLimitError", "Message": "per-second rate limit"}]
            return classified(errors, raw=raw, http_status=status)
        if status >= 500:
            return self._failed(status, raw)
        if status == 401:
            errors = errors or [{"Name": "OAuthTokenIsInvalid", "Message": "unauthorised"}]
            error = classified(errors, raw=raw, http_status=status)
            if not isinstance(error, AuthError):
                error = self._catalogued(
                    AuthError,
                    "MYOB refused access (HTTP 401).",
                    "OAuthTokenIsInvalid",
                    raw=raw,
                    status=status,
                )
            return error
        if status == 404:
            errors = errors or [{"Name": "ResourceNotFound", "Message": "not found"}]
            error = classified(errors, raw=raw, http_status=status)
            if not isinstance(error, NotFoundError):
                error = NotFoundError(error.message, raw=raw, http_status=status)
            return error
        if status == 409:
            errors = errors or [{"Name": "IncorrectRowVersion", "Message": "Incorrect RowVersion"}]
        if status == 423:
            errors = errors or [{"Name": "CompanyFileLocked", "Message": "locked"}]
        if status == 403 and not errors:
            errors = [{"Name": "AccessDenied", "Message": "forbidden"}]
        return classified(errors, raw=raw, http_status=status)
