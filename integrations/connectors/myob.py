"""MYOB Business API (AccountRight v2) connector: bills = Purchase/Bill/Service, invoices =
Sale/Invoice/Service, over httpx.

Wire format per integrations/specs/myob/ (NOTES.md and a JSON Schema per entity). The company
file the admin chose comes back on the OAuth redirect as `businessId` and is the context's
tenant id; every call goes to `{api}/accountright/{businessId}/...` with the bearer token, our
API key (`x-myobapi-key`) and `x-myobapi-version: v2`. Our reference rides in the entry's
JournalMemo (the document URL with `?ref=`), found again through `$filter` on the supplier
invoice number (bills) or number (invoices). Updates carry the entry's RowVersion; a stale one
(409) reads the entry again and retries once. MYOB has no batch endpoint: one entry per call.

MYOB's limits belong to our API key across every tenant (8 calls a second, 1,000,000 a day):
a 429 (or a 403 "per-second") is a throttle to wait out, a 403 "daily" the day's quota spent.

Registered as `myob` in settings.LEDGER_CONNECTORS.
"""

import base64
import datetime
import json
import logging
import re
import threading
import time
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
    DataProcessingError,
    LedgerValidationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.myob_catalogue import RECONNECT_HINT, explain

# NOTES.md, "OAuth 2.0": granular scopes for keys made after 12 March 2025 (the exact set our
# endpoints need is unverified).
MYOB_SCOPES = (
    "sme-company-file sme-contact-customer sme-contact-supplier sme-sales sme-purchases "
    "sme-banking sme-general-ledger"
)
RESOURCE = {
    EntryKind.BILL: "Purchase/Bill/Service",
    EntryKind.INVOICE: "Sale/Invoice/Service",
    # A card or bank expense: money spent at once from that account, no bill and no payment.
    EntryKind.SPEND: "Banking/SpendMoneyTxn",
}
PARTY = {EntryKind.BILL: "Supplier", EntryKind.INVOICE: "Customer", EntryKind.SPEND: "Contact"}
# Where our document number goes: a bill's own Number is MYOB's purchase number (13
# characters, numbered by MYOB); the supplier's invoice number is ours.
NUMBER_FIELD = {
    EntryKind.BILL: "SupplierInvoiceNumber",
    EntryKind.INVOICE: "Number",
    EntryKind.SPEND: "PaymentNumber",
}
NUMBER_MAX = {EntryKind.BILL: 255, EntryKind.INVOICE: 13, EntryKind.SPEND: 13}
# Where our reference rides (the document URL with ?ref=).
MEMO_FIELD = {
    EntryKind.BILL: "JournalMemo",
    EntryKind.INVOICE: "JournalMemo",
    EntryKind.SPEND: "Memo",
}
PAYMENT_RESOURCE = {
    EntryKind.BILL: "Purchase/SupplierPayment",
    EntryKind.INVOICE: "Sale/CustomerPayment",
}
# A payment's own words: where the money comes from or goes to, its amount, and how a line
# names the bill or invoice it pays (NOTES.md: Purchase/SupplierPayment, Sale/CustomerPayment).
PAYMENT_FIELDS = {
    EntryKind.BILL: ("PayFrom", "AmountPaid", "Bill", "Purchase"),
    EntryKind.INVOICE: ("DepositTo", "AmountReceived", "Invoice", "Sale"),
}
PAGE = 1000  # $top at most 1000
NUMBERS_PER_FILTER = 20  # a $filter of ors stays a short URL
DEFAULT_TAX_CODE = "N-T"  # "Not Reportable": a line without a tax rate
REFRESH_MARGIN = datetime.timedelta(seconds=60)
BODY_LOG_LIMIT = 4000
PER_SECOND_RETRY = 1.0
# A read's wait for the next second (tests replace it: no test sleeps).
_pause = time.sleep
REFERENCE_TTL = 600.0  # seconds an account's or tax code's UID is remembered in a process


@dataclass(frozen=True)
class _References:
    loaded_at: float
    accounts: dict[str, str]  # DisplayID -> UID
    tax_codes: dict[str, str]  # Code -> UID


# (API root, company file) -> its references, shared by the connectors of one process.
_REFERENCES: dict[tuple[str, str], _References] = {}
_REFERENCES_LOCK = threading.Lock()
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

logger = logging.getLogger(__name__)

# MYOB's account Types (NOTES.md) for our neutral kinds.
MYOB_ACCOUNT_KINDS = {
    "Bank": AccountKind.BANK,
    "CreditCard": AccountKind.BANK,
    "Expense": AccountKind.EXPENSE,
    "OtherExpense": AccountKind.EXPENSE,
    "CostOfSales": AccountKind.EXPENSE,
    "Income": AccountKind.REVENUE,
    "OtherIncome": AccountKind.REVENUE,
    "AccountsPayable": AccountKind.PAYABLE,
}


def _client_id() -> str:
    return getattr(settings, "MYOB_CLIENT_ID", "ledgersync-myob-dev")


def _client_secret() -> str:
    return getattr(settings, "MYOB_CLIENT_SECRET", "ledgersync-myob-dev-secret")


@dataclass(frozen=True)
class MyobEndpoints:
    authorize: str
    token: str
    api: str  # up to /accountright

    @classmethod
    def for_base_url(cls, base_url: str) -> "MyobEndpoints":
        if not base_url:
            return cls(
                authorize="https://secure.myob.com/oauth2/account/authorize",
                token="https://secure.myob.com/oauth2/v1/authorize",
                api="https://api.myob.com/accountright",
            )
        root = base_url.rstrip("/")  # an emulator serves every endpoint from one root
        return cls(
            authorize=f"{root}/oauth2/account/authorize",
            token=f"{root}/oauth2/v1/authorize",
            api=f"{root}/accountright",
        )


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _number(value: Decimal) -> float:
    return float(_money(value))


def _redact(text: str) -> str:
    text = re.sub(
        r'("?(access_token|refresh_token|client_secret|code)"?\s*[:=]\s*"?)[^"&,\s]+',
        r"\1***",
        text,
    )
    return text[:BODY_LOG_LIMIT]


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reference_of(memo: str) -> str:
    match = re.search(r"[?&]ref=([^&#\s]+)", memo or "")
    return match.group(1) if match else ""


def _wire_date(day: datetime.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _seconds_to_next_utc_day() -> float:
    now = datetime.datetime.now(datetime.UTC)
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (tomorrow - now).total_seconds())


def _classified(errors: list[dict], *, raw: str, http_status: int | None) -> ConnectorError:
    """Our error for MYOB's first error, with the catalogue's words; `myob_name` keeps MYOB's
    Name for the callers that act on one (a stale RowVersion)."""
    first = errors[0] if errors else {}
    name = str(first.get("Name") or "")
    message = str(first.get("Message") or "MYOB refused the request")
    error_class, explanation, hint = explain(name, message)
    error_class = error_class or LedgerValidationError
    kwargs = {"raw": raw, "http_status": http_status, "explanation": explanation, "hint": hint}
    if error_class is RateLimitedError:
        daily = "daily" in message.lower()
        retry_after = _seconds_to_next_utc_day() if daily else PER_SECOND_RETRY
        error = RateLimitedError(
            f"MYOB: {message}",
            retry_after=retry_after,
            problem="day" if daily else "second",
            **kwargs,
        )
    else:
        code = first.get("ErrorCode")
        error = error_class(
            f"MYOB: {message} ({name}{f' {code}' if code is not None else ''})", **kwargs
        )
    error.myob_name = name
    return error


class MyobConnector(Connector):
    provider = "myob"
    display_name = "MYOB Business"
    # MYOB's limits are our API key's, every tenant together: 8 calls a second (480 a minute)
    # and 1,000,000 a day. No batch endpoint: one entry per call. An update reads the
    # RowVersion first; a paid bill takes no change.
    capabilities = Capabilities(
        per_minute=480,
        per_second=8,
        per_day=1_000_000,
        max_concurrent=8,
        batch_size=1,
        batch_call_cost=1,
        update_calls=2,
        paid_entry_is_booked=True,
        contact_needs_mapping=frozenset({EntryKind.BILL, EntryKind.INVOICE, EntryKind.SPEND}),
        # The limits are our API key's across every tenant: one quota for every connection.
        quota_scope="app",
    )

    def __init__(self, context):
        super().__init__(context)
        self.endpoints = MyobEndpoints.for_base_url(context.base_url)
        self._reference_rows: tuple[list[dict], list[dict]] | None = None
        self._client = ledger_http_client(
            context,
            headers={
                "User-Agent": "ledgersync/0.1",
                "Accept": "application/json",
                "Accept-Encoding": "gzip,deflate",
                "x-myobapi-version": "v2",
            },
        )

    def close(self) -> None:
        self._client.close()

    @classmethod
    def requests_before_push(cls, *, base_url: str, tenant_id: str) -> int:
        """The accounts and tax codes (two reads) where this process has no fresh list of the
        company file's: on one key's 8 calls a second, reads the quota did not count meet 429s
        that pause every organisation."""
        with _REFERENCES_LOCK:
            known = _REFERENCES.get((MyobEndpoints.for_base_url(base_url).api, tenant_id))
        return 0 if known is not None and time.monotonic() - known.loaded_at < REFERENCE_TTL else 2

    @property
    def business_id(self) -> str:
        if not self.context.tenant_id:
            raise ConfigurationError(
                "The MYOB connection has no company file (businessId).",
                explanation="The connection was saved without the business chosen at sign-in.",
                hint=RECONNECT_HINT,
            )
        return self.context.tenant_id

    # --- OAuth2 --------------------------------------------------------------------------------

    @classmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str:
        query = urlencode(
            {
                "client_id": _client_id(),
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": MYOB_SCOPES,
                "state": state,
                # MYOB returns businessId only with a fresh consent (NOTES.md).
                "prompt": "consent",
            }
        )
        return f"{MyobEndpoints.for_base_url(base_url).authorize}?{query}"

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        business_id = params.get("businessId", "")
        if not business_id:
            raise AuthError(
                "MYOB sent no company file (businessId) back.",
                explanation="The sign-in finished without naming the MYOB business.",
                hint="Try connecting again and choose a business.",
            )
        return business_id

    @classmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials:
        return _token_request(
            MyobEndpoints.for_base_url(base_url).token,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "scope": MYOB_SCOPES,
            },
            transport=transport,
        )

    def refresh_credentials(self) -> OAuthCredentials:
        credentials = self.context.credentials
        if credentials is None or not credentials.refresh_token:
            raise AuthError(
                "There are no MYOB credentials to refresh.",
                explanation="The connection holds no MYOB tokens (it was disconnected).",
                hint=RECONNECT_HINT,
            )
        fresh = _token_request(
            self.endpoints.token,
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
            transport=self.context.transport,
            timeout=self.context.timeout_seconds,
        )
        # Keep the latest refresh token, saved at once (whether MYOB rotates it is unverified).
        self.context.credentials = fresh
        self.context.save_credentials(fresh)
        return fresh

    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        """MYOB publishes no revocation endpoint (NOTES.md): disconnecting forgets our tokens,
        which the caller does; the admin removes the app's access in my.MYOB."""

    def _access_token(self) -> str:
        credentials = self.context.credentials
        if credentials is None:
            raise AuthError(
                "The connection has no MYOB credentials.",
                explanation="The connection holds no MYOB tokens (it was disconnected).",
                hint=RECONNECT_HINT,
            )
        if credentials.expires_at - REFRESH_MARGIN <= datetime.datetime.now(datetime.UTC):
            credentials = self.refresh_credentials()
        return credentials.access_token

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
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        is_write = method in ("POST", "PUT", "DELETE")
        refreshed = waited = False
        while True:
            headers["Authorization"] = f"Bearer {self._access_token()}"
            started = time.monotonic()
            try:
                response = self._client.request(
                    method, url, params=params, content=body, headers=headers
                )
            except httpx.TransportError as error:
                self._record(method, url, None, started, body, error=repr(error))
                reached = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                error_class = UnknownOutcomeError if is_write and reached else TransientError
                raise error_class(
                    f"MYOB did not answer ({type(error).__name__}).",
                    explanation="The connection to MYOB failed or timed out.",
                    hint="Nothing to do: ledgersync retries automatically and checks MYOB "
                    "before creating anything again.",
                ) from error
            self._record(method, url, response, started, body)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.refresh_credentials()
                continue
            if response.status_code == 429 and not is_write and not waited:
                waited = True
                _pause(PER_SECOND_RETRY)
                continue
            break
        if response.status_code >= 400:
            raise self._error_for(response)
        return response

    def _record(self, method, url, response, started, body, error="") -> None:
        request_text = body.decode(errors="replace") if isinstance(body, bytes) else ""
        if '"FileBase64Content"' in request_text:
            request_text = re.sub(r'("FileBase64Content":\s*")[^"]*', r"\1<file>", request_text)
        self.context.record_call(
            CallRecord(
                method=method,
                url=str(response.request.url) if response is not None else str(url),
                http_status=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_body=_redact(request_text),
                response_body=_redact(response.text) if response is not None else "",
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
        errors = (
            [e for e in (body or {}).get("Errors", []) if isinstance(e, dict)]
            if isinstance(body, dict)
            else []
        )
        if status == 429:
            errors = errors or [{"Name": "RateLimitError", "Message": "per-second rate limit"}]
            return _classified(errors, raw=raw, http_status=status)
        if status >= 500:
            return TransientError(
                f"MYOB failed with HTTP {status}.",
                raw=raw,
                http_status=status,
                explanation="MYOB had a problem of its own or is unavailable.",
                hint="Nothing to do: ledgersync retries automatically.",
            )
        if status == 401:
            errors = errors or [{"Name": "OAuthTokenIsInvalid", "Message": "unauthorised"}]
            error = _classified(errors, raw=raw, http_status=status)
            if not isinstance(error, AuthError):
                _, explanation, hint = explain("OAuthTokenIsInvalid")
                error = AuthError(
                    "MYOB refused access (HTTP 401).",
                    raw=raw,
                    http_status=status,
                    explanation=explanation,
                    hint=hint,
                )
            return error
        if status == 404:
            errors = errors or [{"Name": "ResourceNotFound", "Message": "not found"}]
            error = _classified(errors, raw=raw, http_status=status)
            if not isinstance(error, NotFoundError):
                error = NotFoundError(error.message, raw=raw, http_status=status)
            return error
        if status == 409:
            errors = errors or [{"Name": "IncorrectRowVersion", "Message": "Incorrect RowVersion"}]
        if status == 423:
            errors = errors or [{"Name": "CompanyFileLocked", "Message": "locked"}]
        if status == 403 and not errors:
            errors = [{"Name": "AccessDenied", "Message": "forbidden"}]
        return _classified(errors, raw=raw, http_status=status)

    # --- reads ---------------------------------------------------------------------------------

    def _rows(self, resource: str, where: str = "") -> list[dict]:
        """Every row of a collection, following NextPageLink."""
        rows: list[dict] = []
        params = {"$top": str(PAGE)}
        if where:
            params["$filter"] = where
        path: str = resource
        while True:
            page = self._send("GET", path, params=params).json()
            rows += page.get("Items", [])
            following = page.get("NextPageLink")
            if not following:
                return rows
            path, params = following, None

    def _read(self, kind: EntryKind, external_id: str) -> dict:
        return self._send("GET", f"{RESOURCE[kind]}/{external_id}").json()

    def list_tenants(self) -> list[LedgerTenant]:
        check = self.check_connection()
        return [LedgerTenant(tenant_id=check.tenant_id, name=check.tenant_name)]

    def check_connection(self) -> ConnectionCheck:
        company = self._send("GET", "Company").json()
        return ConnectionCheck(
            tenant_id=self.business_id, tenant_name=company.get("CompanyName", "")
        )

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        resource = self._resource(kind)
        if not number:
            return []  # MYOB's $filter cannot reach inside the memo reliably; the number can
        rows = self._rows(resource, f"{NUMBER_FIELD[kind]} eq {_quoted(number)}")
        return [
            entry_state(kind, row)
            for row in rows
            if _reference_of(row.get(MEMO_FIELD[kind]) or "") == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        resource = self._resource(kind)
        wanted = sorted({n for n in numbers if n})
        found: dict[str, list[EntryState]] = {}
        for start in range(0, len(wanted), NUMBERS_PER_FILTER):
            chunk = wanted[start : start + NUMBERS_PER_FILTER]
            where = " or ".join(f"{NUMBER_FIELD[kind]} eq {_quoted(n)}" for n in chunk)
            for row in self._rows(resource, where):
                reference = _reference_of(row.get(MEMO_FIELD[kind]) or "")
                if reference:
                    found.setdefault(reference, []).append(entry_state(kind, row))
        return found

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        self._resource(kind)
        return entry_state(kind, self._read(kind, external_id))

    def list_accounts(self) -> list[LedgerAccount]:
        return [
            LedgerAccount(
                external_id=account["UID"],
                # The account number people read (6-1100); lines send its UID (_account_uid).
                code=account.get("DisplayID", ""),
                name=account.get("Name", ""),
                type=account.get("Type", ""),
                status="ACTIVE" if account.get("IsActive", True) else "ARCHIVED",
                account_class=str(account.get("Classification", "")).upper(),
                # A header account only groups others: it takes no posting.
                kind=AccountKind.OTHER
                if account.get("IsHeader")
                else MYOB_ACCOUNT_KINDS.get(account.get("Type", ""), AccountKind.OTHER),
            )
            for account in self._load_references()[0]
        ]

    def list_contacts(self) -> list[LedgerContact]:
        return [
            LedgerContact(
                external_id=card["UID"],
                name=card.get("CompanyName")
                or " ".join(p for p in (card.get("FirstName"), card.get("LastName")) if p),
                status="ACTIVE" if card.get("IsActive", True) else "ARCHIVED",
            )
            for card in self._rows("Contact/Supplier")
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        """Jobs (on each line) and categories (on the header)."""
        options = [
            LedgerTrackingOption(
                category_id="Job",
                category_name="Job",
                option_id=job["UID"],
                option_name=f"{job.get('Number', '')} {job.get('Name', '')}".strip(),
            )
            for job in self._rows("GeneralLedger/Job")
            if job.get("IsActive", True) and not job.get("IsHeader")
        ]
        options += [
            LedgerTrackingOption(
                category_id="Category",
                category_name="Category",
                option_id=category["UID"],
                option_name=category.get("Name", ""),
            )
            for category in self._rows("Category")
            if not category.get("IsInactive")
        ]
        return options

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        return [
            LedgerTaxRate(
                tax_type=code["UID"],
                name=f"{code.get('Code', '')} {code.get('Description') or ''}".strip(),
                rate=Decimal(str(code.get("Rate") or 0)),
            )
            for code in self._load_references()[1]
        ]

    def _load_references(self, *, again: bool = False) -> tuple[list[dict], list[dict]]:
        """Every account and tax code of the company file (two calls, once per connector unless
        `again`), remembered by number and code for REFERENCE_TTL in this process: a push then
        names them by UID without a read of its own, which on one key's 8 calls a second
        shared by every tenant counts."""
        if self._reference_rows is not None and not again:
            return self._reference_rows
        accounts = self._rows("GeneralLedger/Account")
        tax_codes = self._rows("GeneralLedger/TaxCode")
        with _REFERENCES_LOCK:
            _REFERENCES[(self.endpoints.api, self.business_id)] = _References(
                loaded_at=time.monotonic(),
                accounts={a["DisplayID"]: a["UID"] for a in accounts if a.get("DisplayID")},
                tax_codes={t["Code"]: t["UID"] for t in tax_codes if t.get("Code")},
            )
        self._reference_rows = (accounts, tax_codes)
        return self._reference_rows

    def _reference(self, table: str, key: str) -> str | None:
        """The UID of an account number or tax code, read again once when it is not known (an
        account added since) or the remembered list is older than REFERENCE_TTL."""
        for attempt in (1, 2):
            with _REFERENCES_LOCK:
                known = _REFERENCES.get((self.endpoints.api, self.business_id))
            fresh = known is not None and time.monotonic() - known.loaded_at < REFERENCE_TTL
            if fresh and key in getattr(known, table):
                return getattr(known, table)[key]
            if attempt == 1:
                self._load_references(again=True)
        return None

    def _account_uid(self, code: str) -> str:
        """An account's UID from its number (6-1100); a UID passes as it is."""
        if GUID.fullmatch(code or ""):
            return code
        uid = self._reference("accounts", code)
        if uid is None:
            raise ConfigurationError(
                f"MYOB has no account {code}.",
                explanation="A category (or the bank account bills are paid from) is mapped to "
                "an account number this MYOB company file does not have.",
                hint="Map it to an existing MYOB account (Integrations › Mappings), then re-sync.",
            )
        return uid

    def _default_tax_uid(self) -> str:
        """MYOB needs a tax code on every line and the freight: N-T where we name none."""
        uid = self._reference("tax_codes", DEFAULT_TAX_CODE)
        if uid is None:
            raise ConfigurationError(
                f"MYOB has no {DEFAULT_TAX_CODE} tax code for lines without a tax rate.",
                explanation="Every MYOB line needs a tax code, and this document names none.",
                hint="Give the lines a tax rate, or add the N-T (Not Reportable) tax code in "
                "MYOB, then re-sync.",
            )
        return uid

    # --- writes --------------------------------------------------------------------------------

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        resource = self._resource(payload.kind)
        response = self._send(
            "POST", resource, params={"returnBody": "true"}, json_body=self._entry_body(payload)
        )
        return entry_state(payload.kind, self._answered(response))

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """No batch endpoint (capabilities.batch_size is 1): one POST each, a refusal kept on
        its own entry; a throttle or outage stops the run for the engine to retry."""
        results = []
        for index, payload in enumerate(payloads):
            try:
                state = self.create_entry(payload, idempotency_key=f"{idempotency_key}-{index}")
            except PermanentError as error:
                results.append(BatchItemResult(payload=payload, error=error))
            else:
                results.append(BatchItemResult(payload=payload, state=state))
        return results

    def _answered(self, response: httpx.Response) -> dict:
        """The record a write answered, or (no body) the one its Location names."""
        if response.content.strip():
            return response.json()
        location = response.headers.get("Location")
        if not location:
            raise DataProcessingError("MYOB answered a write with neither a body nor a Location.")
        return self._send("GET", location).json()

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        kind = payload.kind
        resource = self._resource(kind)
        current = self._read(kind, external_id)
        if payload.voided:
            # MYOB has no void: a voided bill or invoice is deleted (refused in a locked
            # period, with payments, or where the file wants reversals: booked).
            self._send("DELETE", f"{resource}/{current['UID']}")
            return entry_state(kind, current, deleted=True)
        try:
            return self._update(kind, current, payload)
        except TransientError as error:
            if getattr(error, "myob_name", "") not in ("IncorrectRowVersion", "ConcurrencyError"):
                raise
        # Someone changed it since our read: read again and retry once.
        return self._update(kind, self._read(kind, external_id), payload)

    def _update(self, kind: EntryKind, current: dict, payload: EntryPayload) -> EntryState:
        body = {
            "UID": current["UID"],
            **self._entry_body(payload),
            "RowVersion": current["RowVersion"],
        }
        if kind == EntryKind.BILL:
            body["Number"] = current["Number"]  # MYOB's own purchase number stays
        response = self._send(
            "PUT",
            f"{RESOURCE[kind]}/{current['UID']}",
            params={"returnBody": "true"},
            json_body=body,
        )
        if response.content.strip():
            return entry_state(kind, response.json())
        return entry_state(kind, self._read(kind, current["UID"]))

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        kind, document = self._paid_document(payload.entry_id)
        source, amount_key, line_type, link = PAYMENT_FIELDS[kind]
        amount = _number(payload.amount)
        body = {
            source: "Account",
            "Account": {"UID": self._account_uid(payload.account_code)},
            PARTY[kind]: {"UID": document[PARTY[kind]]["UID"]},
            "Date": _wire_date(payload.paid_on),
            amount_key: amount,
            "Memo": f"?ref={payload.reference}",
            "Lines": [{"Type": line_type, link: {"UID": document["UID"]}, "AmountApplied": amount}],
        }
        response = self._send(
            "POST", PAYMENT_RESOURCE[kind], params={"returnBody": "true"}, json_body=body
        )
        return payment_state(self._answered(response), entry_id=payload.entry_id)

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        kind, _ = self._paid_document(entry_id)
        link = PAYMENT_FIELDS[kind][3]
        rows = self._rows(PAYMENT_RESOURCE[kind], f"Memo eq {_quoted(f'?ref={reference}')}")
        return [
            payment_state(row, entry_id=entry_id)
            for row in rows
            if any((line.get(link) or {}).get("UID") == entry_id for line in row.get("Lines", []))
        ]

    def _paid_document(self, entry_id: str) -> tuple[EntryKind, dict]:
        try:
            return EntryKind.BILL, self._read(EntryKind.BILL, entry_id)
        except NotFoundError:
            return EntryKind.INVOICE, self._read(EntryKind.INVOICE, entry_id)

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        resource = self._resource(kind)
        response = self._send(
            "POST",
            f"{resource}/{external_id}/Attachment",
            json_body={
                "Attachments": [
                    {
                        "OriginalFileName": filename,
                        "FileBase64Content": base64.b64encode(content).decode(),
                    }
                ]
            },
        )
        attachments = response.json().get("Attachments") or [{}]
        mine = [a for a in attachments if a.get("OriginalFileName") == filename] or attachments
        return AttachmentState(
            external_id=mine[-1].get("UID", ""), filename=filename, size=len(content)
        )

    # --- payloads ------------------------------------------------------------------------------

    @staticmethod
    def _resource(kind: EntryKind) -> str:
        if kind not in RESOURCE:
            raise ConfigurationError(
                f"MYOB entries of kind {kind} are not synced yet.",
                explanation=f"ledgersync does not push {kind} entries to MYOB.",
                hint="Record the entry in MYOB by hand and mark this record Complete.",
            )
        return RESOURCE[kind]

    def _entry_body(self, payload: EntryPayload) -> dict:
        kind = payload.kind
        self._resource(kind)
        party = PARTY[kind]
        if not payload.contact_id:
            raise ConfigurationError(
                f"The contact {payload.contact_name!r} is not mapped to a MYOB {party.lower()}.",
                explanation="MYOB needs the supplier or customer card's own id on every entry.",
                hint="Map the contact (Integrations › Mappings), then re-sync.",
                missing_mapping={"kind": "contact", "local_id": None, "name": payload.contact_name},
            )
        if len(payload.number) > NUMBER_MAX[kind]:
            raise DataProcessingError(
                f"The number {payload.number!r} is longer than MYOB takes ({NUMBER_MAX[kind]}).",
                explanation="MYOB limits an invoice number to 13 characters.",
                hint="Shorten the document number, then re-sync.",
            )
        default_tax = self._default_tax_uid()  # the freight's, and lines without a rate
        memo = payload.url if payload.url and len(payload.url) <= 255 else ""
        body = {
            "Date": _wire_date(payload.issue_date),
            NUMBER_FIELD[kind]: payload.number,
            party: {"UID": payload.contact_id},
            "IsTaxInclusive": False,
            MEMO_FIELD[kind]: memo or f"?ref={payload.reference}",
            "Lines": [],
        }
        if kind == EntryKind.SPEND:
            if not payload.bank_account_code:
                raise ConfigurationError(
                    "No MYOB account is chosen to spend this expense from.",
                    explanation="A card or bank expense is recorded in MYOB as Spend Money from "
                    "an account, and none is set for this kind of expense.",
                    hint="Choose the account card or bank expenses are spent from (Integrations "
                    "› Mappings), then re-sync.",
                )
            body["PayFrom"] = "Account"
            body["Account"] = {"UID": self._account_uid(payload.bank_account_code)}
        else:
            body["Terms"] = {
                "PaymentIsDue": "InAGivenNumberOfDays",
                "BalanceDueDate": max(0, (payload.due_date - payload.issue_date).days),
            }
            body["FreightTaxCode"] = {"UID": default_tax}
        for line in payload.lines:
            jobs = [r for r in line.tracking if r.category_name.lower() == "job"]
            categories = [r for r in line.tracking if r.category_name.lower() == "category"]
            if categories:
                body["Category"] = {"UID": categories[0].option_id}
            amount = _number(line.quantity * line.unit_amount)
            stored = {
                "Account": {"UID": self._account_uid(line.account_code)},
                "TaxCode": {"UID": line.tax_type or default_tax},
            }
            if kind == EntryKind.SPEND:  # a spend line has an amount and a memo
                stored.update({"Amount": amount, "Memo": line.description})
            else:
                stored.update({"Type": "Transaction", "Description": line.description})
                stored["Total"] = amount
            if jobs:
                stored["Job"] = {"UID": jobs[0].option_id}
            body["Lines"].append(stored)
        return body


# --- answers -----------------------------------------------------------------------------------


def entry_state(kind: EntryKind, body: dict, *, deleted: bool = False) -> EntryState:
    if kind == EntryKind.SPEND:  # spent at once: nothing owing, nothing to pay later
        total = applied = _money(body.get("AmountPaid"))
        balance, paid, status = Decimal("0.00"), False, "Spent"
    else:
        total = _money(body.get("TotalAmount"))
        balance = _money(body.get("BalanceDueAmount", body.get("TotalAmount")))
        applied = _money(body.get("AppliedToDate"))
        paid = body.get("Status") == "Closed" or (total > 0 and balance <= 0)
        status = body.get("Status", "Open")
    status = "Deleted" if deleted else status
    return EntryState(
        external_id=body["UID"],
        number=body.get(NUMBER_FIELD[kind]) or "",
        status=status,
        total=total,
        amount_due=balance,
        amount_paid=applied,
        booked=paid or deleted,
        contact_id=(body.get(PARTY[kind]) or {}).get("UID", ""),
        url=body.get(MEMO_FIELD[kind]) or "",
        gone=deleted,
        approved=not deleted,  # MYOB has no draft bills: an entry there is approved
        issue_date=_date(body.get("Date")),
        due_date=_date((body.get("Terms") or {}).get("DueDate")),
        lines=tuple(_line_payload(line, body.get("Category")) for line in body["Lines"])
        if "Lines" in body
        else None,
    )


def _line_payload(line: dict, category: dict | None) -> LinePayload:
    """A line as we send it: the account by number, the job and the entry's category (MYOB
    keeps it on the header) as tracking."""
    job, category = line.get("Job") or {}, category or {}
    named = (
        ("Job", job, f"{job.get('Number', '')} {job.get('Name', '')}".strip()),
        ("Category", category, category.get("Name", "")),
    )
    tracking = tuple(
        TrackingRef(category_name=kind, option_name=name, category_id=kind, option_id=link["UID"])
        for kind, link, name in named
        if link.get("UID")
    )
    return LinePayload(
        description=line.get("Description", line.get("Memo")) or "",
        quantity=Decimal(1),
        unit_amount=_money(line.get("Total", line.get("Amount"))),
        account_code=(line.get("Account") or {}).get("DisplayID", ""),
        tracking=tracking,
        tax_type=(line.get("TaxCode") or {}).get("UID", ""),
    )


def payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    amount = payment.get("AmountPaid", payment.get("AmountReceived"))
    return PaymentState(
        external_id=payment["UID"],
        entry_id=entry_id,
        amount=_money(amount),
        status="AUTHORISED",
        paid_on=_date(payment.get("Date")),
    )


def _date(value) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _token_request(
    token_url: str, data: dict, *, transport=None, timeout: float = 20.0
) -> OAuthCredentials:
    # MYOB takes the API key and secret in the form, not as basic auth.
    return oauth_token_request(
        token_url,
        {"client_id": _client_id(), "client_secret": _client_secret(), **data},
        service="MYOB's sign-in service",
        ledger="MYOB",
        explain=explain,
        redact=_redact,
        default_expires_in=1200,
        default_scope=MYOB_SCOPES,
        transport=transport,
        timeout=timeout,
    )
