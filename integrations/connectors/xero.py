"""Xero Accounting API connector (bills = ACCPAY invoices, invoices = ACCREC) over httpx.

Wire format per Xero's published OpenAPI spec (integrations/specs/xero/xero_accounting.yaml)
and the notes in shared/specs/XERO_NOTES.md. Tokens are refreshed before they expire and once on
a 401; every refresh rotates the refresh token, which is saved through the context at once.
"""

import base64
import binascii
import contextlib
import datetime
import functools
import json
import logging
import re
import ssl
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

import certifi
import httpx
from django.conf import settings

from integrations.connectors.base import (
    AccountKind,
    AttachmentState,
    BatchItemResult,
    CallRecord,
    Capabilities,
    ConnectionCheck,
    Connector,
    EntryKind,
    EntryPayload,
    EntryState,
    LedgerAccount,
    LedgerContact,
    LedgerTaxRate,
    LedgerTenant,
    LedgerTrackingOption,
    LinePayload,
    OAuthCredentials,
    PaymentPayload,
    PaymentState,
    TrackingRef,
    ledger_http_client,
)
from integrations.connectors.errors import (
    AuthError,
    ConnectorError,
    FieldError,
    LedgerValidationError,
    NotFoundError,
    OrganisationGoneError,
    RateLimitedError,
    SubscriptionError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.xero_catalogue import explain

SCOPES = (
    "offline_access accounting.transactions accounting.contacts accounting.settings "
    "accounting.attachments"
)
INVOICE_TYPE = {EntryKind.BILL: "ACCPAY", EntryKind.INVOICE: "ACCREC"}
BOOKED_STATUSES = {"PAID", "VOIDED", "DELETED"}
GONE_STATUSES = {"VOIDED", "DELETED"}
XERO_PAGE_SIZE = 100  # GET /Invoices answers 100 a page when `page` is given
# Refresh a little before expiry so that a slow request does not arrive with a dead token.
REFRESH_MARGIN = datetime.timedelta(seconds=60)
BODY_LOG_LIMIT = 4000
RATE_LIMIT_HEADERS = ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining")
MS_DATE = re.compile(r"/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/")
# An OAuth2 error code (RFC 6749 §5.2) is safe to show; anything else the token service says is
# logged, never shown (it could be any page a misconfigured address answers with).
OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class XeroEndpoints:
    authorize: str
    token: str
    revocation: str
    connections: str
    api: str

    @classmethod
    def for_base_url(cls, base_url: str) -> "XeroEndpoints":
        if not base_url:
            return cls(
                authorize="https://login.xero.com/identity/connect/authorize",
                token="https://identity.xero.com/connect/token",
                revocation="https://identity.xero.com/connect/revocation",
                connections="https://api.xero.com/connections",
                api="https://api.xero.com/api.xro/2.0",
            )
        # An emulator serves every endpoint from one root.
        root = base_url.rstrip("/")
        return cls(
            authorize=f"{root}/identity/connect/authorize",
            token=f"{root}/connect/token",
            revocation=f"{root}/connect/revocation",
            connections=f"{root}/connections",
            api=f"{root}/api.xro/2.0",
        )


def parse_xero_date(value) -> datetime.datetime | None:
    """Xero answers with MS-JSON dates (/Date(1764547200000+0000)/) and sometimes ISO strings."""
    if not value:
        return None
    match = MS_DATE.fullmatch(str(value))
    if match:
        return datetime.datetime.fromtimestamp(int(match["ms"]) / 1000, tz=datetime.UTC)
    try:
        parsed = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _json_number(value: Decimal) -> float | int:
    # Xero takes JSON numbers; amounts have at most 4 decimals, exact in a double at these sizes.
    return int(value) if value == value.to_integral_value() else float(value)


def _redact(text: str) -> str:
    text = re.sub(
        r'("?(access_token|refresh_token|id_token)"?\s*[:=]\s*"?)[^"&,\s]+', r"\1***", text
    )
    return text[:BODY_LOG_LIMIT]


def _token_request(
    token_url: str, data: dict, *, transport=None, timeout: float = 20.0
) -> OAuthCredentials:
    try:
        with httpx.Client(transport=transport, timeout=timeout, verify=_tls_context()) as client:
            response = client.post(
                token_url,
                data=data,
                auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
                headers={"Accept": "application/json"},
            )
    except httpx.TransportError as error:
        raise TransientError(f"Xero's token service did not answer: {error}") from error
    if response.status_code >= 500:
        raise TransientError(
            f"Xero's token service failed ({response.status_code}).",
            http_status=response.status_code,
        )
    body = _json_or_text(response)
    if response.status_code != 200:
        raw = body.get("error", "") if isinstance(body, dict) else ""
        code = str(raw) if OAUTH_ERROR_CODE.fullmatch(str(raw)) else ""
        logger.warning(
            "Xero's token service refused (HTTP %s): %s",
            response.status_code,
            _redact(response.text),
        )
        _, explanation, hint = explain(code or "token refused")
        raise AuthError(
            f"Xero refused the token request (HTTP {response.status_code}"
            f"{': ' + code if code else ''}).",
            raw=_redact(response.text),
            http_status=response.status_code,
            explanation=explanation,
            hint=hint,
        )
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        logger.warning(
            "Xero's token service answered without an access token: %s", _redact(response.text)
        )
        raise AuthError(
            "Xero's token service answered without an access token.",
            raw=_redact(response.text),
            http_status=response.status_code,
            explanation="The sign-in reached an address that did not answer as Xero's token "
            "service does, so no access was granted.",
            hint="Try connecting again; if it keeps failing, check the ledger address and the "
            "Xero app's client id and secret.",
        )
    return OAuthCredentials(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", data.get("refresh_token", "")),
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=int(body.get("expires_in", 1800))),
        scope=body.get("scope", ""),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs about 23 ms of CPU: once per process, not once per connector.
    return ssl.create_default_context(cafile=certifi.where())


def _json_or_text(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return response.text


def _account_kind(account: dict) -> AccountKind:
    if account.get("Type") == "BANK":  # card accounts too (BankAccountType CREDITCARD)
        return AccountKind.BANK
    if account.get("SystemAccount") == "CREDITORS":
        return AccountKind.PAYABLE
    return XERO_CLASS_KINDS.get(account.get("Class", ""), AccountKind.OTHER)


XERO_CLASS_KINDS = {"EXPENSE": AccountKind.EXPENSE, "REVENUE": AccountKind.REVENUE}


class XeroConnector(Connector):
    provider = "xero"
    display_name = "Xero"
    # Xero's limits per tenant and app: 60 calls a minute, 5,000 a day, 5 at once; a create or
    # update takes up to 50 entries in one call, which counts as one; a paid bill is locked.
    capabilities = Capabilities(
        per_minute=60,
        per_day=5000,
        max_concurrent=5,
        batch_size=50,
        batch_call_cost=1,
        update_calls=1,
        paid_entry_is_booked=True,
    )

    def __init__(self, context):
        super().__init__(context)
        self.endpoints = XeroEndpoints.for_base_url(context.base_url)
        self._client = ledger_http_client(
            context,
            verify=_tls_context(),
            headers={"User-Agent": "ledgersync/0.1", "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    # --- OAuth2 ------------------------------------------------------------------------------

    @classmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": settings.XERO_CLIENT_ID,
                "redirect_uri": redirect_uri,
                "scope": SCOPES,
                "state": state,
            }
        )
        return f"{XeroEndpoints.for_base_url(base_url).authorize}?{query}"

    @classmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials:
        return _token_request(
            XeroEndpoints.for_base_url(base_url).token,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            transport=transport,
        )

    def refresh_credentials(self) -> OAuthCredentials:
        credentials = self.context.credentials
        if credentials is None or not credentials.refresh_token:
            raise AuthError(
                "There are no Xero credentials to refresh.",
                explanation="The connection holds no Xero tokens (it was disconnected).",
                hint="An admin must reconnect Xero: Integrations › the Xero connection › "
                "Reconnect.",
            )
        fresh = _token_request(
            self.endpoints.token,
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
            transport=self.context.transport,
            timeout=self.context.timeout_seconds,
        )
        # Xero rotates the refresh token: the old one is now dead, so save the new one first.
        self.context.credentials = fresh
        self.context.save_credentials(fresh)
        return fresh

    def _access_token(self) -> str:
        credentials = self.context.credentials
        if credentials is None:
            raise AuthError(
                "The connection has no Xero credentials.",
                explanation="The connection holds no Xero tokens (it was disconnected).",
                hint="An admin must reconnect Xero: Integrations › the Xero connection › "
                "Reconnect.",
            )
        if credentials.expires_at - REFRESH_MARGIN <= datetime.datetime.now(datetime.UTC):
            credentials = self.refresh_credentials()
        return credentials.access_token

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
    ) -> httpx.Response:
        """One call with auth; refreshes and retries once on a 401; maps failures to our errors."""
        is_write = method in ("PUT", "POST", "DELETE")
        body = content
        headers = {}
        if json_body is not None:
            body = json.dumps(json_body, default=_json_number).encode()
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        if tenant:
            headers["xero-tenant-id"] = self.context.tenant_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:128]

        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self._access_token()}"
            started = time.monotonic()
            try:
                response = self._client.request(
                    method, url, params=params, content=body, headers=headers
                )
            except httpx.TransportError as error:
                self._record(method, url, None, started, body, "", error=repr(error))
                # A write whose request may have reached Xero has an unknown outcome.
                reached = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                error_class = UnknownOutcomeError if is_write and reached else TransientError
                raise error_class(
                    f"Xero did not answer ({type(error).__name__}).",
                    explanation="The connection to Xero failed or timed out.",
                    hint="Nothing to do: ledgersync retries automatically and checks Xero "
                    "before creating anything again.",
                ) from error
            self._record(method, url, response, started, body, response.text)
            if response.status_code == 401 and attempt == 1:
                self.refresh_credentials()
                continue
            break
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

    def _record(self, method, url, response, started, body, response_text, error="") -> None:
        request_text = body.decode(errors="replace") if isinstance(body, bytes) else ""
        if request_text and not request_text.lstrip().startswith(("{", "[")):
            request_text = f"<{len(body)} bytes>"
        self.context.record_call(
            CallRecord(
                method=method,
                # With the query string: what was searched matters to whoever reads the log.
                url=str(response.request.url) if response is not None else str(url),
                http_status=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_body=_redact(request_text),
                response_body=_redact(response_text or ""),
                rate_limit={
                    name: response.headers[name]
                    for name in RATE_LIMIT_HEADERS
                    if response is not None and name in response.headers
                },
                error=error,
            )
        )

    def _error_for(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        body = _json_or_text(response)
        raw = response.text[:BODY_LOG_LIMIT]
        if status == 429:
            retry_after = float(response.headers.get("Retry-After", "60") or 60)
            problem = response.headers.get("X-Rate-Limit-Problem", "")
            _, explanation, hint = explain("rate limit")
            return RateLimitedError(
                f"Xero's rate limit was reached ({problem or 'limit'}); retry in "
                f"{retry_after:g} s.",
                retry_after=retry_after,
                problem=problem,
                raw=raw,
                http_status=status,
                explanation=explanation,
                hint=hint,
            )
        if status >= 500:
            return TransientError(
                f"Xero failed with HTTP {status}.",
                raw=raw,
                http_status=status,
                explanation="Xero had a problem of its own or is unavailable.",
                hint="Nothing to do: ledgersync retries automatically.",
            )
        if status in (401, 403):
            detail = body.get("Detail", "") if isinstance(body, dict) else ""
            _, explanation, hint = explain(
                detail or ("Forbidden" if status == 403 else "TokenExpired")
            )
            return AuthError(
                f"Xero refused access (HTTP {status}{': ' + detail if detail else ''}).",
                raw=raw,
                http_status=status,
                explanation=explanation,
                hint=hint,
            )
        if status == 404:
            _, explanation, hint = explain("not found")
            return NotFoundError(
                "Xero has no such entry.",
                raw=raw,
                http_status=status,
                explanation=explanation,
                hint=hint,
            )
        messages = _validation_messages(body)
        return _classified(messages or [str(body)[:500]], raw=raw, http_status=status)

    # --- reads ---------------------------------------------------------------------------------

    def list_tenants(self, *, auth_event_id: str = "") -> list[LedgerTenant]:
        params = {"authEventId": auth_event_id} if auth_event_id else None
        response = self._send("GET", self.endpoints.connections, params=params, tenant=False)
        return [
            LedgerTenant(
                tenant_id=item["tenantId"],
                name=item.get("tenantName", ""),
                connection_id=item["id"],
            )
            for item in response.json()
            if item.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    def check_connection(self) -> ConnectionCheck:
        for tenant in self.list_tenants():
            if tenant.tenant_id == self.context.tenant_id:
                return ConnectionCheck(tenant_id=tenant.tenant_id, tenant_name=tenant.name)
        raise AuthError(
            "The Xero organisation is no longer connected to ledgersync.",
            explanation="Xero lists no connection to this organisation for ledgersync any more.",
            hint="An admin must reconnect Xero: Integrations › the Xero connection › Reconnect.",
        )

    def list_consent_tenants(self) -> list[LedgerTenant]:
        """Xero: the tenants of this consent are the connections carrying its authEventId (the
        access token's `authentication_event_id` claim). Without the claim, every connection of
        the user is listed and the caller must let the admin choose."""
        return self.list_tenants(auth_event_id=self._auth_event_id())

    def _auth_event_id(self) -> str:
        credentials = self.context.credentials
        token = credentials.access_token if credentials else ""
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError, binascii.Error):
            return ""  # not a JWT: the claim cannot be read
        event = claims.get("authentication_event_id") if isinstance(claims, dict) else None
        return event if isinstance(event, str) else ""

    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        if not connection_id and not keep_link:
            # Saved before the id was kept: find our link among this consent's, never another.
            connection_id = next(
                (
                    t.connection_id
                    for t in self.list_consent_tenants()
                    if t.tenant_id == self.context.tenant_id
                ),
                "",
            )
        if connection_id and not keep_link:
            # Already gone at Xero (disconnected there) is fine.
            with contextlib.suppress(NotFoundError):
                self._send("DELETE", f"{self.endpoints.connections}/{connection_id}", tenant=False)
        # Deleting the connection leaves the refresh token alive: revoke it too.
        refresh_token = self.context.credentials.refresh_token if self.context.credentials else ""
        if refresh_token:
            try:
                self._client.post(
                    self.endpoints.revocation,
                    data={"token": refresh_token},
                    auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
                )
            except httpx.TransportError as error:
                raise TransientError(
                    f"Xero's revocation service did not answer: {error}"
                ) from error

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        if kind == EntryKind.SPEND:
            return self._find_spends(reference=reference, number=number)
        params = {"where": f'Type=="{INVOICE_TYPE[kind]}"'}
        if number:
            params["InvoiceNumbers"] = number
        response = self._send("GET", f"{self.endpoints.api}/Invoices", params=params)
        invoices = response.json().get("Invoices", [])
        # Bill numbers are not unique in Xero; our reference rides in the entry's Url.
        return [
            _entry_state(invoice)
            for invoice in invoices
            if _reference_of(invoice.get("Url", "")) == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        found: dict[str, list[EntryState]] = {}
        if kind == EntryKind.SPEND:
            for number in sorted(set(numbers)):
                for state in self._find_spends(reference="", number=number):
                    found.setdefault(_reference_of(state.url), []).append(state)
            return found
        # Xero takes a comma-separated list; a number holding a comma is looked up on its own.
        plain = sorted({n for n in numbers if n and "," not in n})
        queries = [",".join(plain)] if plain else []
        queries += sorted({n for n in numbers if n and "," in n})
        for numbers_param in queries:
            page = 1
            while True:
                response = self._send(
                    "GET",
                    f"{self.endpoints.api}/Invoices",
                    params={
                        "where": f'Type=="{INVOICE_TYPE[kind]}"',
                        "InvoiceNumbers": numbers_param,
                        "page": page,
                    },
                )
                invoices = response.json().get("Invoices", [])
                for invoice in invoices:
                    reference = _reference_of(invoice.get("Url", ""))
                    if reference:
                        found.setdefault(reference, []).append(_entry_state(invoice))
                if len(invoices) < XERO_PAGE_SIZE:
                    break
                page += 1
        return found

    def _find_spends(self, *, reference: str, number: str) -> list[EntryState]:
        """Spend money carrying our reference (in its Url), found by its Reference (our number)."""
        where = 'Type=="SPEND"' + (f' AND Reference=="{_quoted(number)}"' if number else "")
        response = self._send(
            "GET", f"{self.endpoints.api}/BankTransactions", params={"where": where}
        )
        states = [_spend_state(t) for t in response.json().get("BankTransactions", [])]
        wanted = [s for s in states if _reference_of(s.url)]
        return [s for s in wanted if not reference or _reference_of(s.url) == reference]

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        if kind == EntryKind.SPEND:
            response = self._send("GET", f"{self.endpoints.api}/BankTransactions/{external_id}")
            transactions = response.json().get("BankTransactions", [])
            if not transactions:
                raise NotFoundError(f"Xero has no bank transaction {external_id}.")
            return _spend_state(transactions[0])
        response = self._send("GET", f"{self.endpoints.api}/Invoices/{external_id}")
        invoices = response.json().get("Invoices", [])
        if not invoices:
            raise NotFoundError(f"Xero has no invoice {external_id}.")
        return _entry_state(invoices[0])

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        if kind not in INVOICE_TYPE:
            return super().get_entries(kind=kind, external_ids=external_ids)
        # One read for a page of ids: GET /Invoices?IDs=…; `page` makes Xero answer each invoice
        # with its line items (its list answers leave them out otherwise).
        found: dict[str, EntryState] = {}
        ids = sorted(set(external_ids))
        for start in range(0, len(ids), XERO_PAGE_SIZE):
            response = self._send(
                "GET",
                f"{self.endpoints.api}/Invoices",
                params={"IDs": ",".join(ids[start : start + XERO_PAGE_SIZE]), "page": 1},
            )
            for invoice in response.json().get("Invoices", []):
                found[invoice["InvoiceID"]] = _entry_state(invoice)
        return found

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not updates or updates[0][1].kind not in INVOICE_TYPE:
            return super().update_entries(updates, idempotency_key=idempotency_key)
        # POST /Invoices updates every element that names its InvoiceID; with
        # summarizeErrors=false each one answers on its own, as a batch create does.
        bodies = [
            {**invoice_body(payload), "InvoiceID": external_id} for external_id, payload in updates
        ]
        response = self._send(
            "POST",
            f"{self.endpoints.api}/Invoices",
            params={"summarizeErrors": "false"},
            json_body={"Invoices": bodies},
            idempotency_key=idempotency_key,
        )
        results = []
        answers = response.json().get("Invoices", [])
        for (_, payload), body, invoice in zip(updates, bodies, answers, strict=True):
            logged = {
                "request_body": _redact(json.dumps({"Invoices": [body]})),
                "response_body": _redact(json.dumps({"Invoices": [invoice]})),
            }
            if invoice.get("HasErrors") or invoice.get("StatusAttributeString") == "ERROR":
                messages = [item.get("Message", "") for item in invoice.get("ValidationErrors", [])]
                error = _classified(messages, raw=json.dumps(invoice)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                results.append(
                    BatchItemResult(payload=payload, state=_entry_state(invoice), **logged)
                )
        return results

    def list_accounts(self) -> list[LedgerAccount]:
        response = self._send("GET", f"{self.endpoints.api}/Accounts")
        return [
            LedgerAccount(
                external_id=account["AccountID"],
                code=account.get("Code", ""),
                name=account.get("Name", ""),
                type=account.get("Type", ""),
                status=account.get("Status", "ACTIVE"),
                account_class=account.get("Class", ""),
                kind=_account_kind(account),
            )
            for account in response.json().get("Accounts", [])
        ]

    def list_contacts(self) -> list[LedgerContact]:
        response = self._send("GET", f"{self.endpoints.api}/Contacts")
        return [
            LedgerContact(
                external_id=contact["ContactID"],
                name=contact.get("Name", ""),
                status=contact.get("ContactStatus", "ACTIVE"),
            )
            for contact in response.json().get("Contacts", [])
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        response = self._send("GET", f"{self.endpoints.api}/TrackingCategories")
        return [
            LedgerTrackingOption(
                category_id=category["TrackingCategoryID"],
                category_name=category.get("Name", ""),
                option_id=option["TrackingOptionID"],
                option_name=option.get("Name", ""),
            )
            for category in response.json().get("TrackingCategories", [])
            for option in category.get("Options", [])
        ]

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        response = self._send("GET", f"{self.endpoints.api}/TaxRates")
        return [
            LedgerTaxRate(
                tax_type=rate["TaxType"],
                name=rate.get("Name", ""),
                rate=_money(rate.get("EffectiveRate", rate.get("DisplayTaxRate", 0))),
                status=rate.get("Status", "ACTIVE"),
            )
            for rate in response.json().get("TaxRates", [])
        ]

    # --- writes --------------------------------------------------------------------------------

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        if payload.kind == EntryKind.SPEND:
            response = self._send(
                "PUT",
                f"{self.endpoints.api}/BankTransactions",
                json_body={"BankTransactions": [spend_body(payload)]},
                idempotency_key=idempotency_key,
            )
            return _spend_state(response.json()["BankTransactions"][0])
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Invoices",
            json_body={"Invoices": [invoice_body(payload)]},
            idempotency_key=idempotency_key,
        )
        return _entry_state(response.json()["Invoices"][0])

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        # One batch is of one kind (the engine groups by entry type): spend money goes to
        # BankTransactions, which takes many elements the same way.
        spend = bool(payloads) and payloads[0].kind == EntryKind.SPEND
        key, build, state_of = (
            ("BankTransactions", spend_body, _spend_state)
            if spend
            else ("Invoices", invoice_body, _entry_state)
        )
        bodies = [build(payload) for payload in payloads]
        # summarizeErrors=false: one bad bill does not sink the batch; each element reports.
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/{key}",
            params={"summarizeErrors": "false"},
            json_body={key: bodies},
            idempotency_key=idempotency_key,
        )
        results = []
        answers = response.json().get(key, [])
        for payload, body, invoice in zip(payloads, bodies, answers, strict=True):
            logged = {
                "request_body": _redact(json.dumps({key: [body]})),
                "response_body": _redact(json.dumps({key: [invoice]})),
            }
            if invoice.get("HasErrors") or invoice.get("StatusAttributeString") == "ERROR":
                messages = [item.get("Message", "") for item in invoice.get("ValidationErrors", [])]
                error = _classified(messages, raw=json.dumps(invoice)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                state = state_of(invoice)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
        return results

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        if payload.kind == EntryKind.SPEND:
            body = {**spend_body(payload), "BankTransactionID": external_id}
            response = self._send(
                "POST",
                f"{self.endpoints.api}/BankTransactions/{external_id}",
                json_body={"BankTransactions": [body]},
                idempotency_key=idempotency_key,
            )
            return _spend_state(response.json()["BankTransactions"][0])
        body = invoice_body(payload)
        body["InvoiceID"] = external_id
        response = self._send(
            "POST",
            f"{self.endpoints.api}/Invoices/{external_id}",
            json_body={"Invoices": [body]},
            idempotency_key=idempotency_key,
        )
        return _entry_state(response.json()["Invoices"][0])

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Payments",
            json_body={"Payments": [payment_body(payload)]},
            idempotency_key=idempotency_key,
        )
        return _payment_state(response.json()["Payments"][0], entry_id=payload.entry_id)

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        reference = reference.replace('"', '\\"')
        response = self._send(
            "GET",
            f"{self.endpoints.api}/Payments",
            params={"where": f'Reference=="{reference}" AND Invoice.InvoiceID==Guid("{entry_id}")'},
        )
        return [
            _payment_state(payment, entry_id=entry_id)
            for payment in response.json().get("Payments", [])
            if payment.get("Status") != "DELETED"
        ]

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        bodies = [payment_body(payload) for payload in payloads]
        # summarizeErrors=false: one refused payment does not sink the others; each reports.
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Payments",
            params={"summarizeErrors": "false"},
            json_body={"Payments": bodies},
            idempotency_key=idempotency_key,
        )
        results = []
        answers = response.json().get("Payments", [])
        for payload, body, payment in zip(payloads, bodies, answers, strict=True):
            logged = {
                "request_body": _redact(json.dumps({"Payments": [body]})),
                "response_body": _redact(json.dumps({"Payments": [payment]})),
            }
            failed = payment.get("StatusAttributeString") == "ERROR"
            if payment.get("HasValidationErrors") or failed:
                errors = payment.get("ValidationErrors", [])
                messages = [item.get("Message", "") for item in errors]
                error = _classified(messages, raw=json.dumps(payment)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                state = _payment_state(payment, entry_id=payload.entry_id)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
        return results

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        collection = "BankTransactions" if kind == EntryKind.SPEND else "Invoices"
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/{collection}/{external_id}/Attachments/{quote(filename)}",
            content=content,
            content_type=content_type,
            idempotency_key=f"attach-{external_id}-{uuid.uuid5(uuid.NAMESPACE_URL, filename)}",
        )
        attachment = response.json()["Attachments"][0]
        return AttachmentState(
            external_id=attachment["AttachmentID"],
            filename=attachment.get("FileName", filename),
            size=int(attachment.get("ContentLength", len(content))),
        )


# --- payloads and answers --------------------------------------------------------------------


def invoice_body(payload: EntryPayload) -> dict:
    """Our neutral payload as a Xero Invoice object."""
    contact = (
        {"ContactID": payload.contact_id} if payload.contact_id else {"Name": payload.contact_name}
    )
    body = {
        "Type": INVOICE_TYPE[payload.kind],
        "Contact": contact,
        "InvoiceNumber": payload.number,
        "Date": payload.issue_date.isoformat(),
        "DueDate": payload.due_date.isoformat(),
        "CurrencyCode": payload.currency,
        "LineAmountTypes": "Exclusive" if any(line.tax_type for line in payload.lines) else "NoTax",
        "Status": "VOIDED" if payload.voided else "AUTHORISED",
        "LineItems": [_line_item(line) for line in payload.lines],
    }
    if payload.currency_rate is not None:
        body["CurrencyRate"] = _json_number(payload.currency_rate)
    if payload.url:
        body["Url"] = payload.url
    return body


def _line_item(line: LinePayload) -> dict:
    item = {
        "Description": line.description,
        "Quantity": _json_number(line.quantity),
        "UnitAmount": _json_number(line.unit_amount),
        "AccountCode": line.account_code,
    }
    if line.tax_type:
        item["TaxType"] = line.tax_type
    if line.tracking:
        item["Tracking"] = [
            {"Name": ref.category_name, "Option": ref.option_name} for ref in line.tracking
        ]
    return item


def spend_body(payload: EntryPayload) -> dict:
    """A card or bank expense as Xero's spend money (a SPEND bank transaction): paid at once from
    the bank or card account, so there is no bill and no payment."""
    contact = (
        {"ContactID": payload.contact_id} if payload.contact_id else {"Name": payload.contact_name}
    )
    body = {
        "Type": "SPEND",
        "Contact": contact,
        "BankAccount": {"Code": payload.bank_account_code},
        "Date": payload.issue_date.isoformat(),
        "Reference": payload.number,
        "CurrencyCode": payload.currency,
        # Amounts are net of tax when a line names a tax rate (Xero adds the tax).
        "LineAmountTypes": "Exclusive" if any(line.tax_type for line in payload.lines) else "NoTax",
        "Status": "DELETED" if payload.voided else "AUTHORISED",
        "LineItems": [_line_item(line) for line in payload.lines],
    }
    if payload.currency_rate is not None:
        body["CurrencyRate"] = _json_number(payload.currency_rate)
    if payload.url:
        body["Url"] = payload.url
    return body


def _spend_state(transaction: dict) -> EntryState:
    status = transaction.get("Status", "")
    total = _money(transaction.get("Total"))
    return EntryState(
        external_id=transaction["BankTransactionID"],
        number=transaction.get("Reference", "") or "",
        status=status,
        total=total,
        amount_due=Decimal("0.00"),  # spent: nothing is ever due
        amount_paid=total,
        # Reconciled with a bank statement, or deleted: Xero takes no change any more.
        booked=bool(transaction.get("IsReconciled")) or status in GONE_STATUSES,
        contact_id=transaction.get("Contact", {}).get("ContactID", ""),
        url=transaction.get("Url", ""),
        updated_at=parse_xero_date(transaction.get("UpdatedDateUTC")),
        gone=status in GONE_STATUSES,
        approved=status == "AUTHORISED" if status else None,
        issue_date=_date_of(transaction.get("Date")),
        due_date=None,
        currency=transaction.get("CurrencyCode", ""),
        lines=(
            tuple(_line_payload(item) for item in transaction["LineItems"])
            if "LineItems" in transaction
            else None
        ),
    )


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def payment_body(payload: PaymentPayload) -> dict:
    return {
        "Invoice": {"InvoiceID": payload.entry_id},
        "Account": {"Code": payload.account_code},
        "Date": payload.paid_on.isoformat(),
        "Amount": _json_number(payload.amount),
        "Reference": payload.reference,
    }


def _payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    paid_on = parse_xero_date(payment.get("Date"))
    return PaymentState(
        external_id=payment["PaymentID"],
        entry_id=payment.get("Invoice", {}).get("InvoiceID", entry_id),
        amount=_money(payment.get("Amount")),
        status=payment.get("Status", ""),
        paid_on=paid_on.date() if paid_on else None,
    )


def _reference_of(url: str) -> str:
    match = re.search(r"[?&]ref=([^&#]+)", url or "")
    return match.group(1) if match else ""


def _entry_state(invoice: dict) -> EntryState:
    status = invoice.get("Status", "")
    amount_paid = _money(invoice.get("AmountPaid"))
    return EntryState(
        external_id=invoice["InvoiceID"],
        number=invoice.get("InvoiceNumber", ""),
        status=status,
        total=_money(invoice.get("Total")),
        amount_due=_money(invoice.get("AmountDue")),
        amount_paid=amount_paid,
        # An AUTHORISED bill with a payment is locked too: Xero refuses to change it.
        booked=status in BOOKED_STATUSES or amount_paid > 0,
        contact_id=invoice.get("Contact", {}).get("ContactID", ""),
        url=invoice.get("Url", ""),
        updated_at=parse_xero_date(invoice.get("UpdatedDateUTC")),
        gone=status in GONE_STATUSES,
        approved=status in ("AUTHORISED", "PAID") if status else None,
        issue_date=_date_of(invoice.get("Date")),
        due_date=_date_of(invoice.get("DueDate")),
        currency=invoice.get("CurrencyCode", ""),
        lines=(
            tuple(_line_payload(item) for item in invoice["LineItems"])
            if "LineItems" in invoice
            else None
        ),
    )


def _date_of(value) -> datetime.date | None:
    parsed = parse_xero_date(value)
    return parsed.date() if parsed else None


def _line_payload(item: dict) -> LinePayload:
    """A Xero line item as our neutral line, to compare with the document's."""
    return LinePayload(
        description=item.get("Description", "") or "",
        quantity=Decimal(str(item.get("Quantity", 0) or 0)),
        unit_amount=Decimal(str(item.get("UnitAmount", 0) or 0)),
        account_code=item.get("AccountCode", "") or "",
        tracking=tuple(
            TrackingRef(category_name=ref.get("Name", ""), option_name=ref.get("Option", ""))
            for ref in item.get("Tracking", [])
        ),
    )


def _validation_messages(body) -> list[str]:
    if not isinstance(body, dict):
        return []
    messages = [
        error.get("Message", "")
        for element in body.get("Elements", [])
        for error in element.get("ValidationErrors", [])
    ]
    return messages or ([body["Message"]] if body.get("Message") else [])


def _classified(messages: list[str], *, raw: str, http_status: int | None = 400) -> ConnectorError:
    """The first message the catalogue knows decides the class; all are kept as field errors."""
    messages = [message for message in messages if message] or ["Xero rejected the request."]
    chosen_class, explanation, hint = None, "", ""
    for message in messages:
        error_class, explanation_text, hint_text = explain(message)
        if error_class is not None or not explanation:
            chosen_class, explanation, hint = error_class, explanation_text, hint_text
        if error_class is not None:
            break
    error_class = chosen_class or LedgerValidationError
    return error_class(
        "; ".join(messages),
        raw=raw,
        http_status=http_status,
        field_errors=tuple(FieldError(message=message) for message in messages),
        explanation=explanation,
        hint=hint,
    )
