"""In-memory records of one emulated Xero organisation. Plain data; the rules live in ledger.py."""

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Invoice types this emulator books (Xero has credit notes and prepayments too).
INVOICE_TYPES = ("ACCPAY", "ACCREC")

ZERO = Decimal("0.00")

# Entries kept in a tenant's write log (the control API's `/writes`), oldest dropped first.
WRITE_LOG_SIZE = 100_000

# Invoice statuses whose amounts are posted to the ledger (the lock date protects them).
POSTED_STATUSES = ("AUTHORISED", "PAID", "VOIDED")


@dataclass
class Account:
    account_id: str
    code: str
    name: str
    type: str  # AccountType enum: BANK, EXPENSE, OVERHEADS, REVENUE, ...
    account_class: str  # ASSET, EXPENSE, REVENUE, ...
    updated: float
    status: str = "ACTIVE"
    tax_type: str = "NONE"
    description: str = ""
    bank_account_number: str | None = None
    enable_payments: bool = False

    @property
    def accepts_payments(self) -> bool:
        return self.status == "ACTIVE" and (self.type == "BANK" or self.enable_payments)


@dataclass
class Contact:
    contact_id: str
    name: str
    updated: float
    status: str = "ACTIVE"
    contact_number: str | None = None
    email_address: str | None = None
    is_supplier: bool = False
    is_customer: bool = False


@dataclass
class TrackingOption:
    option_id: str
    name: str
    status: str = "ACTIVE"


@dataclass
class TrackingCategory:
    category_id: str
    name: str
    options: list[TrackingOption]
    status: str = "ACTIVE"


@dataclass
class LineTracking:
    category_id: str
    category_name: str
    option_id: str
    option_name: str


@dataclass
class LineItem:
    line_item_id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    account_code: str | None
    account_id: str | None
    tax_type: str
    tracking: list[LineTracking] = field(default_factory=list)
    item_code: str | None = None


@dataclass
class Attachment:
    attachment_id: str
    file_name: str
    mime_type: str
    content: bytes
    include_online: bool = False


@dataclass
class Payment:
    payment_id: str
    invoice_id: str
    account_id: str
    date: date
    amount: Decimal
    payment_type: str  # ACCPAYPAYMENT | ACCRECPAYMENT
    updated: float
    reference: str = ""
    currency_rate: Decimal = Decimal("1")
    status: str = "AUTHORISED"  # or DELETED
    is_reconciled: bool = False


class _LineTotals:
    """The totals of a record with `line_items` (an invoice, a bank transaction)."""

    @property
    def sub_total(self) -> Decimal:
        return sum((line.line_amount for line in self.line_items), ZERO)

    @property
    def total_tax(self) -> Decimal:
        # The emulator keeps no tax rates: every line carries TaxAmount 0.
        return ZERO

    @property
    def total(self) -> Decimal:
        return self.sub_total + self.total_tax


@dataclass
class Invoice(_LineTotals):
    invoice_id: str
    type: str  # ACCPAY (bill) | ACCREC (sales invoice)
    contact_id: str
    invoice_number: str
    date: date
    due_date: date | None
    status: str
    line_amount_types: str
    currency_code: str
    line_items: list[LineItem]
    updated: float
    reference: str = ""
    url: str | None = None
    currency_rate: Decimal = Decimal("1")
    amount_paid: Decimal = ZERO
    payment_ids: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    fully_paid_on: date | None = None

    @property
    def amount_due(self) -> Decimal:
        if self.status in ("VOIDED", "DELETED"):
            return ZERO
        return self.total - self.amount_paid

    @property
    def is_editable(self) -> bool:
        """Xero lets DRAFT/SUBMITTED and unpaid AUTHORISED documents change; nothing else."""
        if self.status in ("DRAFT", "SUBMITTED"):
            return True
        return self.status == "AUTHORISED" and self.amount_paid == ZERO


# Bank transaction types this emulator books (Xero has prepayments, overpayments, transfers too).
BANK_TRANSACTION_TYPES = ("SPEND", "RECEIVE")


@dataclass
class BankTransaction(_LineTotals):
    """Spend or receive money: paid at once from (or into) a bank account, no invoice."""

    bank_transaction_id: str
    type: str  # SPEND | RECEIVE
    contact_id: str
    bank_account_id: str
    date: date
    status: str  # AUTHORISED | DELETED | VOIDED
    line_amount_types: str
    currency_code: str
    line_items: list[LineItem]
    updated: float
    reference: str = ""
    url: str | None = None
    currency_rate: Decimal = Decimal("1")
    is_reconciled: bool = False
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class Tenant:
    tenant_id: str
    name: str
    created: float
    base_currency: str
    accounts: dict[str, Account] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    tracking: dict[str, TrackingCategory] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    bank_transactions: dict[str, BankTransaction] = field(default_factory=dict)
    lock_date: date | None = None  # PeriodLockDate: everyone but advisers
    end_of_year_lock_date: date | None = None  # EndOfYearLockDate: everyone
    next_sales_number: int = 1
    # When each invoice or payment write was applied and what it left (control API only).
    writes: deque = field(default_factory=lambda: deque(maxlen=WRITE_LOG_SIZE))

    @property
    def locked_through(self) -> date | None:
        """The last day locked for an app's writes: the later of the two lock dates."""
        dates = [d for d in (self.lock_date, self.end_of_year_lock_date) if d is not None]
        return max(dates) if dates else None

    def account_by_code(self, code: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.code == code), None)

    def contact_by_name(self, name: str) -> Contact | None:
        wanted = name.strip().casefold()
        matches = [c for c in self.contacts.values() if c.name.strip().casefold() == wanted]
        # Prefer an active contact when an archived one shares the name.
        return next((c for c in matches if c.status == "ACTIVE"), matches[0] if matches else None)
