"""The one interface every ledger connector implements, and the neutral types it speaks.

A connector never sees our models: the engine builds payloads (with mappings already resolved to
the ledger's ids and codes) and hands the connector a `ConnectorContext` with what it needs of the
connection. So a connector can be tested without a database, and a new ledger needs no knowledge of
our schema.
"""

import datetime
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

import httpx

from integrations.connectors.errors import (
    ConnectorError,
    NotFoundError,
    PermanentError,
)


class EntryKind(StrEnum):
    """What a connector writes in the ledger (synclog.models lists the engine's vocabulary)."""

    BILL = "bill"
    INVOICE = "invoice"
    # Money spent from a bank or card account at once (Xero: a SPEND bank transaction; QBO: a
    # Purchase): a card or bank expense, with no bill and no payment.
    SPEND = "spend"


# --- what we send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingRef:
    category_name: str
    option_name: str
    category_id: str = ""
    option_id: str = ""


@dataclass(frozen=True)
class LinePayload:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tracking: tuple[TrackingRef, ...] = ()
    tax_type: str = ""  # the ledger's tax rate (Xero: TaxType); empty: amounts carry no tax


@dataclass(frozen=True)
class EntryPayload:
    """A bill (payable) or an invoice (receivable) as the ledger should hold it."""

    kind: EntryKind
    reference: str  # ours, stable per document: how we find the entry again
    number: str
    issue_date: datetime.date
    due_date: datetime.date
    currency: str
    total: Decimal
    lines: tuple[LinePayload, ...]
    contact_id: str = ""  # the ledger's contact id when mapped…
    contact_name: str = ""  # …else the ledger matches or creates the contact by name
    url: str = ""
    voided: bool = False
    # SPEND: the ledger bank (or card) account code the money left from.
    bank_account_code: str = ""
    # Units of `currency` per unit of the ledger's base currency; None: the ledger's own rate.
    currency_rate: Decimal | None = None


@dataclass(frozen=True)
class PaymentPayload:
    reference: str
    entry_id: str
    account_code: str
    paid_on: datetime.date
    amount: Decimal


# --- what the ledger holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class EntryState:
    external_id: str
    number: str
    status: str  # the ledger's own word, e.g. AUTHORISED
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    booked: bool  # paid, voided or locked: cannot be changed any more
    contact_id: str = ""
    url: str = ""
    updated_at: datetime.datetime | None = None
    # Voided or deleted in the ledger: kept there as history, it takes no change or payment.
    gone: bool = False
    # Approved in the ledger (takes payments); None when the answer does not say.
    approved: bool | None = None
    # What the entry holds, when the ledger's answer carried it (a read does): what a manual
    # re-sync compares the document with.
    issue_date: datetime.date | None = None
    due_date: datetime.date | None = None
    currency: str = ""
    lines: tuple[LinePayload, ...] | None = None
    # The ledger's own version of the entry where it keeps one (MYOB's RowVersion): what a
    # reconcile remembers having judged, where no time of the last change is given.
    version: str = ""


@dataclass(frozen=True)
class FieldDifference:
    """One field of an entry that the ledger holds otherwise than the document says: its name
    ("due date", "line 2", "line 2 tracking"), the ledger's value and ours."""

    field: str
    there: object
    here: object


def entry_field_differences(payload: EntryPayload, state: EntryState) -> list[FieldDifference]:
    """How the entry the ledger holds differs from the document as it is now, field by field
    (each line and its tracking apart); empty when the ledger already holds it. What a push
    compares, and what a re-sync preview shows."""
    differences = []

    def compare(label: str, there, here) -> None:
        if there != here:
            differences.append(FieldDifference(label, there, here))

    compare("number", state.number, payload.number)
    if payload.contact_id:
        compare("contact", state.contact_id, payload.contact_id)
    if state.issue_date is not None:
        compare("issue date", state.issue_date, payload.issue_date)
    if payload.kind != EntryKind.SPEND:  # spend money has no due date
        compare("due date", state.due_date, payload.due_date)
    if state.currency:
        compare("currency", state.currency, payload.currency)
    compare("total", _cents(state.total), _cents(payload.total))
    if state.lines is not None:
        for position in range(max(len(state.lines), len(payload.lines))):
            there = state.lines[position] if position < len(state.lines) else None
            here = payload.lines[position] if position < len(payload.lines) else None
            label = f"line {position + 1}"
            compare(label, _line_words(there), _line_words(here))
            compare(f"{label} tracking", _tracking_words(there), _tracking_words(here))
    if state.gone != payload.voided or (not payload.voided and state.approved is False):
        compare("status", state.status, "voided" if payload.voided else "approved")
    return differences


def entry_differences(payload: EntryPayload, state: EntryState) -> list[str]:
    """entry_field_differences in words ("due date 2026-12-24 there, 2026-11-30 here"; lines
    as their counts), for the messages of a refused or repaired push."""
    words = []
    for difference in entry_field_differences(payload, state):
        if difference.field.startswith("line"):
            counted = f"lines ({len(state.lines)} there, {len(payload.lines)} here)"
            if counted not in words:
                words.append(counted)
        else:
            words.append(
                f"{difference.field} {difference.there or 'none'} there, "
                f"{difference.here or 'none'} here"
            )
    return words


def _cents(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _line_words(line: LinePayload | None) -> str | None:
    # A line's amount, not its quantity and unit price apart: QuickBooks' account-based lines
    # keep the amount alone, so 4 × 20.00 reads back as 1 × 80.00 and is the same line.
    if line is None:
        return None
    amount = _cents(Decimal(line.quantity) * Decimal(line.unit_amount))
    return f"{line.description} · {amount} · account {line.account_code}"


def _tracking_words(line: LinePayload | None) -> str:
    if line is None:
        return ""
    refs = sorted((ref.category_name, ref.option_name) for ref in line.tracking)
    return ", ".join(f"{category}: {option}" for category, option in refs)


@dataclass(frozen=True)
class PaymentState:
    external_id: str
    entry_id: str
    amount: Decimal
    status: str
    paid_on: datetime.date | None = None
    updated_at: datetime.datetime | None = None  # when the ledger last changed it


@dataclass(frozen=True)
class ChangedEntry:
    """An entry (or payment) the ledger says changed since a time, with the call that read it:
    its URL and status, and as response body this element of the answer only, so that each
    record's log shows what the ledger held for it."""

    kind: EntryKind | None  # None: a payment
    state: "EntryState | PaymentState"
    call: "CallRecord"


@dataclass(frozen=True)
class LedgerChanges:
    """What a read of the changes since a time found: entries and payments, and the ledger's
    own clock when it read them (its Date header), None where it did not say."""

    entries: tuple[ChangedEntry, ...] = ()
    payments: tuple[ChangedEntry, ...] = ()
    ledger_time: datetime.datetime | None = None
    # Every entry of the kinds asked for, not only the changed ones (a ledger with no filter
    # on the time of a change): one of ours missing from `entries` is gone from the ledger.
    complete: bool = False


@dataclass(frozen=True)
class AttachmentState:
    external_id: str
    filename: str
    size: int


@dataclass(frozen=True)
class BatchItemResult:
    """One element of a batch create (of entries or payments): its state, or the error the
    ledger gave for it."""

    payload: EntryPayload | PaymentPayload
    state: EntryState | PaymentState | None = None
    error: ConnectorError | None = None
    # This element's part of the batch's request and answer (redacted, truncated): each
    # document's log shows its own entry, not the first few of a batch of 50.
    request_body: str = ""
    response_body: str = ""


class AccountKind(StrEnum):
    """What an account is for, in our words: each connector maps its ledger's account types
    to these, so pages and rules never read a ledger's own type names."""

    BANK = "bank"  # money is paid from it (a bank or card account)
    EXPENSE = "expense"
    REVENUE = "revenue"
    PAYABLE = "payable"  # accounts payable
    OTHER = "other"  # assets, liabilities, equity, …: nothing we book to


@dataclass(frozen=True)
class LedgerAccount:
    external_id: str
    code: str
    name: str
    type: str  # the ledger's own word (Xero: BANK; QBO: Bank), shown, never compared
    status: str = "ACTIVE"
    account_class: str = ""  # EXPENSE, REVENUE, ASSET, …
    kind: AccountKind = AccountKind.OTHER


@dataclass(frozen=True)
class LedgerContact:
    external_id: str
    name: str
    status: str = "ACTIVE"


@dataclass(frozen=True)
class LedgerTrackingOption:
    category_id: str
    category_name: str
    option_id: str
    option_name: str


@dataclass(frozen=True)
class LedgerTaxRate:
    tax_type: str  # what a line sends (Xero: TaxType)
    name: str
    rate: Decimal  # percent
    status: str = "ACTIVE"


@dataclass(frozen=True)
class LedgerTenant:
    tenant_id: str
    name: str
    connection_id: str = ""


@dataclass(frozen=True)
class LedgerLockDate:
    """The ledger's lock date as a connector reads it: nothing dated on or before
    `locked_through` may be written (None: nothing is locked). `source` names the ledger's own
    setting(s) it comes from, for the page ("PeriodLockDate 2026-12-31")."""

    locked_through: datetime.date | None
    source: str = ""


@dataclass(frozen=True)
class ConnectionCheck:
    tenant_id: str
    tenant_name: str


# --- what the connector gets from the connection -------------------------------------------------


@dataclass
class OAuthCredentials:
    access_token: str
    refresh_token: str
    expires_at: datetime.datetime
    scope: str = ""

    def to_dict(self) -> dict:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "OAuthCredentials":
        return cls(
            access_token=data.get("access_token", ""),
            refresh_token=data.get("refresh_token", ""),
            expires_at=datetime.datetime.fromisoformat(data["expires_at"])
            if data.get("expires_at")
            else datetime.datetime.min.replace(tzinfo=datetime.UTC),
            scope=data.get("scope", ""),
        )


@dataclass(frozen=True)
class CallRecord:
    """One HTTP exchange with the ledger, redacted and truncated, for the integration log."""

    method: str
    url: str
    http_status: int | None
    duration_ms: int
    request_body: str = ""
    response_body: str = ""
    rate_limit: dict = field(default_factory=dict)
    error: str = ""


@dataclass
class ConnectorContext:
    base_url: str  # empty: the ledger's real API
    tenant_id: str
    credentials: OAuthCredentials | None
    # Called with new credentials after every refresh: a rotated refresh token must be saved.
    save_credentials: Callable[[OAuthCredentials], None] = lambda credentials: None
    # Called with every HTTP exchange, for the attempt log and rate-limit bookkeeping.
    record_call: Callable[[CallRecord], None] = lambda record: None
    # Called before every HTTP request to the ledger's API; may raise a ConnectorError to stop
    # it (a page's read waits here for its place in the connection's quota).
    before_request: Callable[[], None] = lambda: None
    # Tests pass the emulator's in-process transport; production uses the network.
    transport: httpx.BaseTransport | None = None
    timeout_seconds: float = 20.0
    # Held around a refresh of the tokens, yielding the credentials saved by then: one refresh at
    # a time per connection across every process, since a refresh may spend the refresh token
    # another process holds too (Xero rotates it at every refresh).
    refresh_lock: Callable[[], AbstractContextManager[OAuthCredentials | None]] = lambda: (
        nullcontext(None)
    )


@dataclass(frozen=True)
class Capabilities:
    """What a ledger allows and what its calls cost, as the connector declares it: the engine
    plans its quota, batches and booked rules from this and knows no ledger by name."""

    per_minute: int  # calls a minute per tenant and app
    per_day: int  # calls per rolling 24 h
    max_concurrent: int  # calls in flight at once
    batch_size: int  # entries (or payments) per batch request
    # Quota calls one batch request counts for: a ledger with a tighter limit on batch requests
    # than on calls (QBO: 40 a minute beside 500 calls) makes each one weigh more.
    batch_call_cost: int
    update_calls: int  # calls one update makes (a ledger that reads a version token first: 2)
    paid_entry_is_booked: bool  # an entry with a payment takes no edit any more
    # Entry kinds whose contact the ledger takes only by its own id (no match by name): an
    # unmapped contact fails before any call, naming our contact to map.
    contact_needs_mapping: frozenset = frozenset()
    # Whose calls one quota counts: "tenant", each connection's own (Xero, QBO); or "app", one
    # quota for the app key across every tenant and organisation (MYOB).
    quota_scope: str = "tenant"
    # Calls a second, beside the minute's (QBO 10 a realm, MYOB 8 an API key); None: no such limit.
    per_second: int | None = None


def ledger_http_client(context: ConnectorContext, **options) -> httpx.Client:
    """The HTTP client a connector calls its ledger's API with: the context's transport,
    timeout and before-request hook, and the connector's own headers (and TLS context)."""
    return httpx.Client(
        transport=context.transport,
        timeout=httpx.Timeout(context.timeout_seconds, connect=5.0),
        event_hooks={"request": [lambda request: context.before_request()]},
        **options,
    )


class Connector(ABC):
    provider: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, context: ConnectorContext):
        self.context = context

    @abstractmethod
    def close(self) -> None:
        """Let go of the HTTP client; the engine calls it when it is done with the connector."""

    @classmethod
    def requests_before_push(cls, *, base_url: str, tenant_id: str) -> int:
        """HTTP requests a new connector in this process makes before a push's own (lists it
        reads once and remembers): the engine asks the quota for them too. None here."""
        return 0

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        """The tenant the ledger named on the OAuth redirect (every parameter of it is given),
        or empty where the ledger lists the consent's tenants through its API instead."""
        return ""

    # OAuth2 set-up (class level: there is no connection yet)
    @classmethod
    @abstractmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str: ...

    @classmethod
    @abstractmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials: ...

    @abstractmethod
    def list_tenants(self) -> list[LedgerTenant]: ...

    def list_consent_tenants(self) -> list[LedgerTenant]:
        """The tenants granted by the consent that produced these credentials (not every tenant
        the ledger user ever connected). A ledger without that notion: all of them."""
        return self.list_tenants()

    @abstractmethod
    def check_connection(self) -> ConnectionCheck: ...

    @abstractmethod
    def refresh_credentials(self) -> OAuthCredentials: ...

    @abstractmethod
    def read_lock_date(self) -> LedgerLockDate:
        """The ledger's lock (closing) date: the last day on which nothing may be written."""

    @abstractmethod
    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        """Disconnect our own link to the tenant at the ledger (its id when the ledger has one;
        none when keep_link) and kill our tokens; never another link to the same tenant."""

    # entries
    @abstractmethod
    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        """Entries that carry our reference (a number alone is not unique on every ledger)."""

    @abstractmethod
    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        """The entries with any of these numbers, keyed by our reference (one call per page)."""

    @abstractmethod
    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState: ...

    @abstractmethod
    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState: ...

    @abstractmethod
    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]: ...

    @abstractmethod
    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState: ...

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        """The entries with these ids, by id; one the ledger no longer has is left out. In as
        few calls as the ledger allows; a ledger without such a read reads them one by one."""
        found = {}
        for external_id in external_ids:
            try:
                found[external_id] = self.get_entry(kind=kind, external_id=external_id)
            except NotFoundError:
                continue
        return found

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """Many (external id, payload) updates in one call where the ledger takes them, each
        element answered with its state or its own error; else one by one."""
        results = []
        for index, (external_id, payload) in enumerate(updates):
            try:
                state = self.update_entry(
                    external_id, payload, idempotency_key=f"{idempotency_key}-{index}"
                )
            except PermanentError as error:
                results.append(BatchItemResult(payload=payload, error=error))
            else:
                results.append(BatchItemResult(payload=payload, state=state))
        return results

    @abstractmethod
    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState: ...

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        """The live payments of an entry that carry our reference: where a payment whose push
        lost its answer may be."""
        raise NotImplementedError

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """Many payments in one call where the ledger takes them (each element answers with its
        state or its own error). A ledger without such a call pushes them one by one here."""
        results = []
        for index, payload in enumerate(payloads):
            try:
                state = self.create_payment(payload, idempotency_key=f"{idempotency_key}-{index}")
            except PermanentError as error:
                results.append(BatchItemResult(payload=payload, error=error))
            else:
                results.append(BatchItemResult(payload=payload, state=state))
        return results

    # Whether changes_since is implemented (the reconcile skips a ledger without it).
    reads_changes: ClassVar[bool] = False

    def changes_since(
        self, *, since: datetime.datetime, kinds: frozenset, payments: bool
    ) -> LedgerChanges:
        """The entries of these kinds (and, with `payments`, the payments) created or changed in
        the ledger since `since`, deleted and voided ones included: what a reconcile compares
        with what we pushed. Every page of the answer is read."""
        raise NotImplementedError

    @abstractmethod
    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState: ...

    # choices for mappings
    @abstractmethod
    def list_accounts(self) -> list[LedgerAccount]: ...

    @abstractmethod
    def list_contacts(self) -> list[LedgerContact]: ...

    @abstractmethod
    def list_tracking_options(self) -> list[LedgerTrackingOption]: ...

    @abstractmethod
    def list_tax_rates(self) -> list[LedgerTaxRate]: ...
