"""The neutral types every ledger connector speaks: what we send (payloads), what the ledger
holds (states, changes, lists for the mappings page), and what a connector gets from the
connection (its context, credentials, call records) and declares of its ledger (capabilities).

A connector never sees our models: the engine builds payloads (with mappings already resolved to
the ledger's ids and codes) and reads states; `base.Connector` is the interface between them.
"""

import datetime
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import httpx

from integrations.connectors.errors import ConnectorError


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
