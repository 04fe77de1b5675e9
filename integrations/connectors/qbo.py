"""QuickBooks Online Accounting API v3 connector over httpx: bills are Bills, invoices Invoices,
card and bank expenses Purchases (spent at once from a card or bank account).

Wire format per Intuit's XML Schemas (integrations/specs/qbo/, JSON keys = element names) and
shared/specs/QBO_NOTES.md. The company is the realm (`realmId` on the OAuth callback, kept as the
context's tenant id). Our reference rides in the entry's PrivateNote (the document URL with
`?ref=`), found again through `query` by DocNumber. Updates carry the entry's SyncToken; a stale
one (Fault 5010) reads the entry again and retries once. Every write carries a `requestid`
derived from our idempotency key, so a retry after a lost answer gets the first answer back.

Registered as `quickbooks` in settings.LEDGER_CONNECTORS.
"""

import datetime
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

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
    oauth_token_request,
)
from integrations.connectors.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    LedgerValidationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.qbo_catalogue import RECONNECT_HINT, explain

SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = "75"  # Intuit retired 1-74 on 2025-08-01
ENTITY = {EntryKind.BILL: "Bill", EntryKind.INVOICE: "Invoice", EntryKind.SPEND: "Purchase"}
PARTY = {"Bill": "VendorRef", "Invoice": "CustomerRef", "Purchase": "EntityRef"}
# A Purchase's PaymentType follows the account it is spent from (Intuit: "Cash and Check should
# have bank account, CreditCard should specify credit card account"). A bank expense is a Cash
# one: Check is for written checks, which we do not know of.
PURCHASE_PAYMENT_TYPES = {"Credit Card": "CreditCard"}
BANK_PURCHASE = "Cash"
PAYMENT_ENTITY = {"Bill": "BillPayment", "Invoice": "Payment"}
BATCH_SIZE = 30  # Intuit's limits page: at most 30 operations per batch
QUERY_PAGE = 1000  # MAXRESULTS at most 1000
NUMBERS_PER_QUERY = 100
STALE_OBJECT = "5010"
NOT_FOUND = "610"
REFRESH_MARGIN = datetime.timedelta(seconds=60)
BODY_LOG_LIMIT = 4000
DEFAULT_RETRY_AFTER = 60.0  # Intuit publishes no Retry-After: "wait 60 seconds"

logger = logging.getLogger(__name__)


def _client_id() -> str:
    return getattr(settings, "QBO_CLIENT_ID", "ledgersync-qbo-dev")


def _client_secret() -> str:
    return getattr(settings, "QBO_CLIENT_SECRET", "ledgersync-qbo-dev-secret")


@dataclass(frozen=True)
class QboEndpoints:
    authorize: str
    token: str
    revocation: str
    api: str  # up to /v3/company

    @classmethod
    def for_base_url(cls, base_url: str) -> "QboEndpoints":
        if not base_url:
            return cls(
                authorize="https://appcenter.intuit.com/connect/oauth2",
                token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                revocation="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
                api="https://quickbooks.api.intuit.com/v3/company",
            )
        root = base_url.rstrip("/")  # an emulator serves every endpoint from one root
        return cls(
            authorize=f"{root}/connect/oauth2",
            token=f"{root}/oauth2/v1/tokens/bearer",
            revocation=f"{root}/v2/oauth2/tokens/revoke",
            api=f"{root}/v3/company",
        )


# Intuit's AccountType values (Account.xsd's AccountTypeEnum) for our neutral kinds; a card
# is what card expenses are spent from, like a bank account.
QBO_ACCOUNT_KINDS = {
    "Bank": AccountKind.BANK,
    "Credit Card": AccountKind.BANK,
    "Expense": AccountKind.EXPENSE,
    "Other Expense": AccountKind.EXPENSE,
    "Cost of Goods Sold": AccountKind.EXPENSE,
    "Income": AccountKind.REVENUE,
    "Other Income": AccountKind.REVENUE,
    "Accounts Payable": AccountKind.PAYABLE,
}


def request_id(idempotency_key: str, *parts) -> str:
    """Intuit's requestid is at most 50 characters (36 on a batch): a UUID derived from our
    key (and what else makes this request distinct) fits both and is stable across retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join([idempotency_key, *map(str, parts)])))


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _number(value: Decimal) -> float:
    return float(_money(value))


def _redact(text: str) -> str:
    text = re.sub(r'("?(access_token|refresh_token|token)"?\s*[:=]\s*"?)[^"&,\s]+', r"\1***", text)
    return text[:BODY_LOG_LIMIT]


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _reference_of(note: str) -> str:
    match = re.search(r"[?&]ref=([^&#\s]+)", note or "")
    return match.group(1) if match else ""


def _fault_errors(body) -> list[dict]:
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault") or {}
        errors = fault.get("Error") or fault.get("error") or []
        return [e for e in errors if isinstance(e, dict)]
    return []


def _classified(errors: list[dict], *, raw: str, http_status: int | None) -> ConnectorError:
    """Our error for a Fault's first error, with the catalogue's words. `qbo_code` keeps
    Intuit's code for the callers that act on one (a stale SyncToken)."""
    first = errors[0] if errors else {}
    code = str(first.get("code", "") or "")
    message = first.get("Message") or first.get("message") or "QuickBooks refused the request"
    detail = first.get("Detail") or first.get("detail") or ""
    words = f"{message}: {detail}" if detail and detail != message else message
    error_class, explanation, hint = explain(code, words)
    error_class = error_class or LedgerValidationError
    kwargs = {"raw": raw, "http_status": http_status, "explanation": explanation, "hint": hint}
    if error_class is RateLimitedError:
        error = RateLimitedError(
            f"QuickBooks: {words}", retry_after=DEFAULT_RETRY_AFTER, problem="", **kwargs
        )
    else:
        error = error_class(f"QuickBooks: {words} (code {code})" if code else words, **kwargs)
    error.qbo_code = code
    return error


class QboConnector(Connector):
    provider = "quickbooks"
    display_name = "QuickBooks Online"
    # Intuit's throttles per realm and app: 500 requests a minute, 10 a second, and 40 batch
    # requests a minute of at most 30 operations each. A batch weighs 500/40 rounded up (13)
    # calls, so a run of batches stays under 40 a minute; a second's burst of more than 10 is
    # answered 429 and waited out like any throttle. No daily cap is published: the minute's
    # bounds the day. An update reads the SyncToken first; a bill with a payment reads booked.
    capabilities = Capabilities(
        per_minute=500,
        per_second=10,
        per_day=500 * 60 * 24,
        max_concurrent=10,
        batch_size=BATCH_SIZE,
        batch_call_cost=-(-500 // 40),
        update_calls=2,
        paid_entry_is_booked=True,
        # A Purchase's payee is optional; a Bill's vendor and an Invoice's customer are not.
        contact_needs_mapping=frozenset({EntryKind.BILL, EntryKind.INVOICE}),
    )

    def __init__(self, context):
        super().__init__(context)
        self.endpoints = QboEndpoints.for_base_url(context.base_url)
        self._client = ledger_http_client(
            context,
            headers={"User-Agent": "ledgersync/0.1", "Accept": "application/json"},
        )
        self._close_date: datetime.date | None | bool = False  # False: not read yet
        self._account_types: dict[str, str] = {}  # account Id -> AccountType, as read

    def close(self) -> None:
        self._client.close()

    @property
    def realm_id(self) -> str:
        if not self.context.tenant_id:
            # Intuit has no call that lists a token's companies: the callback's realmId is it.
            raise ConfigurationError(
                "The QuickBooks connection has no company (realmId).",
                explanation="The connection was saved without the company chosen at sign-in.",
                hint=RECONNECT_HINT,
            )
        return self.context.tenant_id

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str:
        query = urlencode(
            {
                "client_id": _client_id(),
                "response_type": "code",
                "scope": SCOPE,
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{QboEndpoints.for_base_url(base_url).authorize}?{query}"

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        return cls.realm_from_callback(params)

    @staticmethod
    def realm_from_callback(params) -> str:
        """The company the user chose: Intuit puts `realmId` on the redirect, beside `code`."""
        realm_id = params.get("realmId", "")
        if not realm_id:
            raise AuthError(
                "QuickBooks sent no company (realmId) back.",
                explanation="The sign-in finished without naming the QuickBooks company.",
                hint="Try connecting again and choose a company.",
            )
        return realm_id

    @classmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials:
        return _token_request(
            QboEndpoints.for_base_url(base_url).token,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            transport=transport,
        )

    def refresh_credentials(self) -> OAuthCredentials:
        credentials = self.context.credentials
        if credentials is None or not credentials.refresh_token:
            raise AuthError(
                "There are no QuickBooks credentials to refresh.",
                explanation="The connection holds no QuickBooks tokens (it was disconnected).",
                hint=RECONNECT_HINT,
            )
        fresh = _token_request(
            self.endpoints.token,
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
            transport=self.context.transport,
            timeout=self.context.timeout_seconds,
        )
        # Intuit may rotate the refresh token: always keep the latest, saved at once.
        self.context.credentials = fresh
        self.context.save_credentials(fresh)
        return fresh

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

    def _access_token(self) -> str:
        credentials = self.context.credentials
        if credentials is None:
            raise AuthError(
                "The connection has no QuickBooks credentials.",
                explanation="The connection holds no QuickBooks tokens (it was disconnected).",
                hint=RECONNECT_HINT,
            )
        if credentials.expires_at - REFRESH_MARGIN <= datetime.datetime.now(datetime.UTC):
            credentials = self.refresh_credentials()
        return credentials.access_token

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
        body = content
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = content_type or "application/text"
        is_write = method == "POST" and path != "query"
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self._access_token()}"
            started = time.monotonic()
            try:
                response = self._client.request(
                    method, url, params=params, content=body, files=files, headers=headers
                )
            except httpx.TransportError as error:
                self._record(method, url, None, started, body, "", error=repr(error))
                reached = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                error_class = UnknownOutcomeError if is_write and reached else TransientError
                raise error_class(
                    f"QuickBooks did not answer ({type(error).__name__}).",
                    explanation="The connection to QuickBooks failed or timed out.",
                    hint="Nothing to do: ledgersync retries automatically and checks QuickBooks "
                    "before creating anything again.",
                ) from error
            self._record(method, url, response, started, body, response.text)
            if response.status_code == 401 and attempt == 1:
                self.refresh_credentials()
                continue
            break
        if response.status_code >= 400 or self._has_fault(response):
            raise self._error_for(response)
        return response

    @staticmethod
    def _has_fault(response: httpx.Response) -> bool:
        """Intuit: "200 OK ... the response body may contain a Fault element"."""
        if b'"Fault"' not in response.content[:200]:
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and "Fault" in body

    def _record(self, method, url, response, started, body, response_text, error="") -> None:
        request_text = body.decode(errors="replace") if isinstance(body, bytes) else ""
        if body and not request_text.lstrip().startswith(("{", "[", "select")):
            request_text = f"<{len(body)} bytes>"
        self.context.record_call(
            CallRecord(
                method=method,
                url=str(response.request.url) if response is not None else str(url),
                http_status=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_body=_redact(request_text),
                response_body=_redact(response_text or ""),
                rate_limit={"intuit_tid": response.headers["intuit_tid"]}
                if response is not None and "intuit_tid" in response.headers
                else {},
                error=error,
            )
        )

    def _error_for(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        raw = response.text[:BODY_LOG_LIMIT]
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = _fault_errors(body)
        if status == 429:
            retry_after = float(response.headers.get("Retry-After") or DEFAULT_RETRY_AFTER)
            _, explanation, hint = explain("429")
            return RateLimitedError(
                f"QuickBooks' throttle was reached; retry in {retry_after:g} s.",
                retry_after=retry_after,
                raw=raw,
                http_status=status,
                explanation=explanation,
                hint=hint,
            )
        if status >= 500:
            return TransientError(
                f"QuickBooks failed with HTTP {status}.",
                raw=raw,
                http_status=status,
                explanation="QuickBooks had a problem of its own or is unavailable.",
                hint="Nothing to do: ledgersync retries automatically.",
            )
        if status in (401, 403):
            code = str(errors[0].get("code", "")) if errors else str(status)
            _, explanation, hint = explain(code if code in ("3200", "3100", "120") else str(status))
            return AuthError(
                f"QuickBooks refused access (HTTP {status}).",
                raw=raw,
                http_status=status,
                explanation=explanation,
                hint=hint,
            )
        return _classified(errors, raw=raw, http_status=status)

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

    def _book_close_date(self) -> datetime.date | None:
        """The company's closing date (Preferences), read once per connector."""
        if self._close_date is False:
            prefs = self._send("GET", "preferences").json().get("Preferences", {})
            text = prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate")
            self._close_date = datetime.date.fromisoformat(text[:10]) if text else None
        return self._close_date

    def _state(self, entity: str, body: dict, *, check_close=True) -> EntryState:
        close = self._book_close_date() if check_close else None
        return entry_state(entity, body, close)

    # --- reads ---------------------------------------------------------------------------------

    def list_tenants(self) -> list[LedgerTenant]:
        check = self.check_connection()
        return [LedgerTenant(tenant_id=check.tenant_id, name=check.tenant_name)]

    def check_connection(self) -> ConnectionCheck:
        info = self._send("GET", f"companyinfo/{self.realm_id}").json().get("CompanyInfo", {})
        return ConnectionCheck(tenant_id=self.realm_id, tenant_name=info.get("CompanyName", ""))

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        entity = self._entity(kind)
        if not number:
            return []  # QBO's query cannot search the PrivateNote our reference is in
        rows = self._query_all(entity, f"DocNumber = {_quoted(number)}")
        return [
            self._state(entity, row)
            for row in rows
            if _reference_of(row.get("PrivateNote", "")) == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        entity = self._entity(kind)
        wanted = sorted({n for n in numbers if n})
        found: dict[str, list[EntryState]] = {}
        for start in range(0, len(wanted), NUMBERS_PER_QUERY):
            chunk = wanted[start : start + NUMBERS_PER_QUERY]
            where = f"DocNumber in ({', '.join(_quoted(n) for n in chunk)})"
            for row in self._query_all(entity, where):
                reference = _reference_of(row.get("PrivateNote", ""))
                if reference:
                    found.setdefault(reference, []).append(self._state(entity, row))
        return found

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        entity = self._entity(kind)
        return self._state(entity, self._read(entity, external_id))

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

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        entity = self._entity(kind)
        return {
            row["Id"]: self._state(entity, row) for row in self._rows_by_id(entity, external_ids)
        }

    def _rows_by_id(self, entity: str, ids) -> list[dict]:
        ids = sorted(set(ids))
        rows = []
        for start in range(0, len(ids), NUMBERS_PER_QUERY):
            chunk = ids[start : start + NUMBERS_PER_QUERY]
            rows += self._query_all(entity, f"Id in ({', '.join(_quoted(i) for i in chunk)})")
        return rows

    def list_accounts(self) -> list[LedgerAccount]:
        return [
            LedgerAccount(
                external_id=account["Id"],
                # Lines name their account by Id: AcctNum is optional in QuickBooks.
                code=account["Id"],
                name=account.get("Name", ""),
                type=account.get("AccountType", ""),
                status="ACTIVE" if account.get("Active", True) else "ARCHIVED",
                account_class=account.get("Classification", "").upper(),
                kind=QBO_ACCOUNT_KINDS.get(account.get("AccountType", ""), AccountKind.OTHER),
            )
            # Inactive ones too (as archived): a mapping to one must show why it fails.
            for account in self._query_all("Account", "Active in (true, false)")
        ]

    def list_contacts(self) -> list[LedgerContact]:
        return [
            LedgerContact(
                external_id=vendor["Id"],
                name=vendor.get("DisplayName", ""),
                status="ACTIVE" if vendor.get("Active", True) else "ARCHIVED",
            )
            for vendor in self._query_all("Vendor", "Active in (true, false)")
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        """Classes (on each line) and departments ("locations", on the header)."""
        options = []
        for entity in ("Class", "Department"):
            for row in self._query_all(entity, "Active = true"):
                options.append(
                    LedgerTrackingOption(
                        category_id=entity,
                        category_name=entity,
                        option_id=row["Id"],
                        option_name=row.get("FullyQualifiedName") or row.get("Name", ""),
                    )
                )
        return options

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        return []  # US companies: QuickBooks computes sales tax itself (not synced yet)

    # --- writes --------------------------------------------------------------------------------

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        entity = self._entity(payload.kind)
        body = self._entry_body(payload)
        response = self._send(
            "POST",
            entity.lower(),
            params={"requestid": request_id(idempotency_key)},
            json_body=body,
        )
        # A write dated in closed books is refused, so what it made is not in them.
        return self._state(entity, response.json()[entity], check_close=False)

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not payloads:
            return []
        entity = self._entity(payloads[0].kind)
        if entity == "Purchase":
            self._purchase_payment_types(payloads)  # their accounts in one read
        results: list[BatchItemResult] = []
        for start in range(0, len(payloads), BATCH_SIZE):
            chunk = payloads[start : start + BATCH_SIZE]
            items = []
            for payload in chunk:
                try:
                    items.append((payload, self._entry_body(payload)))
                except ConnectorError as error:
                    results.append(BatchItemResult(payload=payload, error=error))
            results += self._batch(entity, "create", items, request_id(idempotency_key, start))
        return _in_order(results, payloads)

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        entity = self._entity(payload.kind)
        current = self._read(entity, external_id)
        try:
            return self._update(entity, current, payload, idempotency_key)
        except TransientError as error:
            if getattr(error, "qbo_code", "") != STALE_OBJECT:
                raise
        # Someone changed it since our read: read again and retry once.
        return self._update(entity, self._read(entity, external_id), payload, idempotency_key)

    def _update(self, entity, current, payload, idempotency_key) -> EntryState:
        token = current["SyncToken"]
        # The requestid names the version we change: a retry on a fresh token is a new request.
        params = {"requestid": request_id(idempotency_key, current["Id"], token)}
        identity = {"Id": current["Id"], "SyncToken": token}
        if payload.voided:
            operation = "void" if entity == "Invoice" else "delete"  # bills cannot be voided
            response = self._send(
                "POST",
                entity.lower(),
                params={**params, "operation": operation},
                json_body=identity,
            )
            answer = response.json()[entity]
            return self._state(
                entity,
                {**current, **answer, "status": "Deleted"} if operation == "delete" else answer,
                check_close=False,
            )
        response = self._send(
            "POST",
            entity.lower(),
            params=params,
            json_body={**self._entry_body(payload), **identity},
        )
        return self._state(entity, response.json()[entity], check_close=False)

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not updates:
            return []
        entity = self._entity(updates[0][1].kind)
        if any(payload.voided for _, payload in updates):
            return super().update_entries(updates, idempotency_key=idempotency_key)
        current = {row["Id"]: row for row in self._rows_by_id(entity, [i for i, _ in updates])}
        if entity == "Purchase":
            self._purchase_payment_types([payload for _, payload in updates])
        results: list[BatchItemResult] = []
        items = []
        for external_id, payload in updates:
            row = current.get(external_id)
            if row is None:
                error = NotFoundError(f"QuickBooks has no {entity} {external_id}.")
                results.append(BatchItemResult(payload=payload, error=error))
                continue
            try:
                body = self._entry_body(payload)
            except ConnectorError as error:
                results.append(BatchItemResult(payload=payload, error=error))
                continue
            items.append((payload, {**body, "Id": row["Id"], "SyncToken": row["SyncToken"]}))
        for start in range(0, len(items), BATCH_SIZE):
            chunk = items[start : start + BATCH_SIZE]
            answered = self._batch(entity, "update", chunk, request_id(idempotency_key, start))
            for (payload, body), result in zip(chunk, answered, strict=True):
                if (
                    result.error is not None
                    and getattr(result.error, "qbo_code", "") == STALE_OBJECT
                ):
                    try:  # changed since our read: read again and retry this one alone
                        state = self.update_entry(
                            body["Id"], payload, idempotency_key=f"{idempotency_key}-{body['Id']}"
                        )
                        result = BatchItemResult(payload=payload, state=state)
                    except ConnectorError as error:
                        result = BatchItemResult(payload=payload, error=error)
                results.append(result)
        return _in_order(results, [payload for _, payload in updates])

    def _batch(
        self, entity: str, operation: str, items, requestid: str, state_of=None
    ) -> list[BatchItemResult]:
        """One POST /batch of (payload, body) items; each answers its state or its own Fault."""
        if not items:
            return []
        if state_of is None:

            def state_of(answer, payload):
                return self._state(entity, answer, check_close=False)

        requests = [
            {"bId": str(index), "operation": operation, entity: body}
            for index, (_, body) in enumerate(items)
        ]
        response = self._send(
            "POST",
            "batch",
            params={"requestid": requestid},
            json_body={"BatchItemRequest": requests},
        )
        answers = {a.get("bId"): a for a in response.json().get("BatchItemResponse", [])}
        results = []
        for index, (payload, _) in enumerate(items):
            answer = answers.get(str(index), {})
            logged = {
                "request_body": _redact(json.dumps(requests[index])),
                "response_body": _redact(json.dumps(answer)),
            }
            if entity in answer:
                state = state_of(answer[entity], payload)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
            else:
                errors = _fault_errors(answer) or [{"Message": "QuickBooks gave no answer"}]
                error = _classified(
                    errors, raw=json.dumps(answer)[:BODY_LOG_LIMIT], http_status=200
                )
                results.append(BatchItemResult(payload=payload, error=error, **logged))
        return results

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        entity, document = self._paid_document(payload.entry_id)
        kind = PAYMENT_ENTITY[entity]
        response = self._send(
            "POST",
            kind.lower(),
            params={"requestid": request_id(idempotency_key)},
            json_body=self._payment_body(entity, document, payload),
        )
        return payment_state(response.json()[kind], entry_id=payload.entry_id)

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        bills = {row["Id"]: row for row in self._rows_by_id("Bill", [p.entry_id for p in payloads])}
        results, items = [], []
        for payload in payloads:
            bill = bills.get(payload.entry_id)
            if bill is None:  # an invoice's payment, or gone: one by one
                results += super().create_payments([payload], idempotency_key=idempotency_key)
                continue
            items.append((payload, self._payment_body("Bill", bill, payload)))
        for start in range(0, len(items), BATCH_SIZE):
            results += self._batch(
                "BillPayment",
                "create",
                items[start : start + BATCH_SIZE],
                request_id(idempotency_key, start),
                lambda answer, payload: payment_state(answer, entry_id=payload.entry_id),
            )
        return _in_order(results, payloads)

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        entity, document = self._paid_document(entry_id)
        kind = PAYMENT_ENTITY[entity]
        ids = [link["TxnId"] for link in document.get("LinkedTxn", [])]
        if not ids:
            return []
        return [
            payment_state(row, entry_id=entry_id)
            for row in self._rows_by_id(kind, ids)
            if _reference_of(row.get("PrivateNote", "")) == reference
            and _money(row.get("TotalAmt")) > 0  # a voided payment is zeroed
        ]

    def _paid_document(self, entry_id: str) -> tuple[str, dict]:
        try:
            return "Bill", self._read("Bill", entry_id)
        except NotFoundError:
            return "Invoice", self._read("Invoice", entry_id)

    def _payment_body(self, entity: str, document: dict, payload: PaymentPayload) -> dict:
        link = {"TxnId": document["Id"], "TxnType": entity}
        amount = _number(payload.amount)
        note = f"?ref={payload.reference}"
        if entity == "Invoice":
            return {
                "CustomerRef": {"value": document["CustomerRef"]["value"]},
                "TotalAmt": amount,
                "TxnDate": payload.paid_on.isoformat(),
                "DepositToAccountRef": {"value": payload.account_code},
                "PrivateNote": note,
                "Line": [{"Amount": amount, "LinkedTxn": [link]}],
            }
        return {
            "VendorRef": {"value": document["VendorRef"]["value"]},
            "PayType": "Check",
            "TotalAmt": amount,
            "TxnDate": payload.paid_on.isoformat(),
            "CheckPayment": {"BankAccountRef": {"value": payload.account_code}},
            "PrivateNote": note,
            "Line": [{"Amount": amount, "LinkedTxn": [link]}],
        }

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        entity = self._entity(kind)
        metadata = {
            "AttachableRef": [{"EntityRef": {"type": entity, "value": external_id}}],
            "FileName": filename,
            "ContentType": content_type,
        }
        response = self._send(
            "POST",
            "upload",
            files={
                "file_metadata_0": ("metadata.json", json.dumps(metadata), "application/json"),
                "file_content_0": (filename, content, content_type),
            },
        )
        [item] = response.json().get("AttachableResponse", [{}])
        if "Attachable" not in item:
            raise _classified(
                _fault_errors(item), raw=json.dumps(item)[:BODY_LOG_LIMIT], http_status=200
            )
        attachable = item["Attachable"]
        return AttachmentState(
            external_id=attachable["Id"],
            filename=attachable.get("FileName", filename),
            size=int(attachable.get("Size", len(content))),
        )

    # --- payloads ------------------------------------------------------------------------------

    @staticmethod
    def _entity(kind: EntryKind) -> str:
        if kind not in ENTITY:
            raise ConfigurationError(
                f"QuickBooks entries of kind {kind} are not synced yet.",
                explanation=f"ledgersync does not push {kind} entries to QuickBooks yet.",
                hint="Record the entry in QuickBooks by hand and mark this record Complete.",
            )
        return ENTITY[kind]

    def _entry_body(self, payload: EntryPayload) -> dict:
        entity = self._entity(payload.kind)
        if entity == "Purchase":
            # The payee is optional on a Purchase (a card charge at a taxi rank has none).
            return entry_body(
                payload,
                payment_type=self._purchase_payment_types([payload])[payload.bank_account_code],
            )
        if not payload.contact_id:
            raise ConfigurationError(
                f"The contact {payload.contact_name!r} is not mapped to a QuickBooks "
                f"{'vendor' if entity == 'Bill' else 'customer'}.",
                explanation="QuickBooks needs the vendor or customer's own id on every entry.",
                hint="Map the contact (Integrations › Mappings), then re-sync.",
                missing_mapping={"kind": "contact", "local_id": None, "name": payload.contact_name},
            )
        return entry_body(payload)

    def _purchase_payment_types(self, payloads) -> dict[str, str]:
        """The PaymentType of a Purchase from each of these payloads' accounts, read once per
        connector (one query for the accounts not read yet). An account QuickBooks does not
        list (inactive, gone) is left to its own refusal of the Purchase."""
        wanted = {p.bank_account_code for p in payloads if p.bank_account_code}
        unread = wanted - set(self._account_types)
        if unread:
            found = {row["Id"]: row for row in self._rows_by_id("Account", unread)}
            for code in unread:
                self._account_types[code] = found.get(code, {}).get("AccountType", "")
        return {
            code: PURCHASE_PAYMENT_TYPES.get(self._account_types.get(code, ""), BANK_PURCHASE)
            for code in wanted | {""}
        }


# --- bodies and answers ----------------------------------------------------------------------


def _in_order(results: list[BatchItemResult], payloads) -> list[BatchItemResult]:
    """Results in the order of the payloads (some are refused before the batch is sent)."""
    position = {id(payload): index for index, payload in enumerate(payloads)}
    return sorted(results, key=lambda result: position[id(result.payload)])


def entry_body(payload: EntryPayload, *, payment_type: str = BANK_PURCHASE) -> dict:
    """Our neutral payload as a QBO Bill, Invoice or Purchase (lines by account or item id);
    a Purchase's `payment_type` follows the account it is spent from."""
    entity = ENTITY[payload.kind]
    body = {
        "DocNumber": payload.number,
        "TxnDate": payload.issue_date.isoformat(),
        "CurrencyRef": {"value": payload.currency},
        # Our reference, found again on the entry: QBO has no other free field on a bill.
        "PrivateNote": payload.url or f"?ref={payload.reference}",
        "Line": [],
    }
    if entity == "Purchase":
        # Spent at once from the bank or card account: no due date, no payment to come.
        body["PaymentType"] = payment_type
        body["AccountRef"] = {"value": payload.bank_account_code}
        if payload.contact_id:
            body["EntityRef"] = {"value": payload.contact_id, "type": "Vendor"}
    else:
        body[PARTY[entity]] = {"value": payload.contact_id}
        body["DueDate"] = payload.due_date.isoformat()
    if payload.currency_rate:
        # QBO's ExchangeRate is home currency per unit of the foreign one: ours inverted.
        body["ExchangeRate"] = float(Decimal(1) / payload.currency_rate)
    for line in payload.lines:
        amount = _number(line.quantity * line.unit_amount)
        classes = [
            r for r in line.tracking if r.category_name.lower() not in ("department", "location")
        ]
        departments = [
            r for r in line.tracking if r.category_name.lower() in ("department", "location")
        ]
        if departments:
            body["DepartmentRef"] = {"value": departments[0].option_id}
        if entity in ("Bill", "Purchase"):
            detail = {"AccountRef": {"value": line.account_code}}
            if classes:
                detail["ClassRef"] = {"value": classes[0].option_id}
            if line.tax_type:
                detail["TaxCodeRef"] = {"value": line.tax_type}
            body["Line"].append(
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": amount,
                    "Description": line.description,
                    "AccountBasedExpenseLineDetail": detail,
                }
            )
        else:
            # An invoice line sells an item: the category maps to a QuickBooks item.
            detail = {
                "ItemRef": {"value": line.account_code},
                "Qty": float(line.quantity),
                "UnitPrice": float(line.unit_amount),
            }
            if classes:
                detail["ClassRef"] = {"value": classes[0].option_id}
            if line.tax_type:
                detail["TaxCodeRef"] = {"value": line.tax_type}
            body["Line"].append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "Description": line.description,
                    "SalesItemLineDetail": detail,
                }
            )
    return body


def entry_state(entity: str, body: dict, close_date: datetime.date | None = None) -> EntryState:
    total = _money(body.get("TotalAmt"))
    spent = entity == "Purchase"  # paid when spent: nothing is ever due on it
    balance = Decimal("0.00") if spent else _money(body.get("Balance", body.get("TotalAmt")))
    deleted = body.get("status") == "Deleted"
    voided = entity == "Invoice" and str(body.get("PrivateNote", "")).startswith("Voided")
    gone = deleted or voided
    # A paid bill or invoice takes no more edits; a Purchase stays editable until its books close.
    paid = not spent and total > 0 and balance == 0
    txn_date = _date(body.get("TxnDate"))
    closed = bool(close_date and txn_date and txn_date <= close_date)
    if gone:
        status = "Deleted" if deleted else "Voided"
    elif spent:
        status = body.get("PaymentType", "")  # Cash, Check or CreditCard
    else:
        status = "Paid" if paid else "Open"
    return EntryState(
        external_id=body["Id"],
        number=body.get("DocNumber", ""),
        status=status,
        total=total,
        amount_due=balance,
        amount_paid=total - balance,
        booked=paid or gone or closed,
        contact_id=body.get(PARTY[entity], {}).get("value", ""),
        url=body.get("PrivateNote", ""),
        updated_at=_datetime(body.get("MetaData", {}).get("LastUpdatedTime")),
        gone=gone,
        approved=not gone,  # QBO has no draft bills: an entry there is approved
        issue_date=txn_date,
        due_date=_date(body.get("DueDate")),
        currency=body.get("CurrencyRef", {}).get("value", ""),
        lines=tuple(_line_payload(line) for line in body["Line"]) if "Line" in body else None,
    )


def _line_payload(line: dict) -> LinePayload:
    detail = line.get("AccountBasedExpenseLineDetail") or line.get("SalesItemLineDetail") or {}
    ref = detail.get("AccountRef") or detail.get("ItemRef") or {}
    quantity = Decimal(str(detail.get("Qty", 1)))
    unit = Decimal(str(detail.get("UnitPrice", line.get("Amount", 0))))
    tracking = ()
    if "ClassRef" in detail:
        tracking = (
            TrackingRef(
                category_name="Class",
                option_name=detail["ClassRef"].get("name", ""),
                category_id="Class",
                option_id=detail["ClassRef"].get("value", ""),
            ),
        )
    return LinePayload(
        description=line.get("Description", "") or "",
        quantity=quantity,
        unit_amount=unit,
        account_code=ref.get("value", ""),
        tracking=tracking,
        tax_type=detail.get("TaxCodeRef", {}).get("value", ""),
    )


def payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    total = _money(payment.get("TotalAmt"))
    return PaymentState(
        external_id=payment["Id"],
        entry_id=entry_id,
        amount=total,
        status="VOIDED" if total == 0 else "AUTHORISED",
        paid_on=_date(payment.get("TxnDate")),
    )


def _date(value) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _datetime(value) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _token_request(
    token_url: str, data: dict, *, transport=None, timeout: float = 20.0
) -> OAuthCredentials:
    return oauth_token_request(
        token_url,
        data,
        service="Intuit's token service",
        ledger="Intuit",
        auth=(_client_id(), _client_secret()),
        explain=explain,
        redact=_redact,
        default_expires_in=3600,
        default_scope=SCOPE,
        transport=transport,
        timeout=timeout,
    )
