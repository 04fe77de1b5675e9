"""Xero's answers as our neutral states: invoices (bills and sales invoices), spend money,
payments, accounts, and Xero's dates (MS-JSON or ISO)."""

import datetime
import email.utils
import re
from decimal import Decimal

from integrations.connectors.types import (
    AccountKind,
    EntryState,
    LinePayload,
    PaymentState,
    TrackingRef,
)
from integrations.connectors.values import money

BOOKED_STATUSES = {"PAID", "VOIDED", "DELETED"}
GONE_STATUSES = {"VOIDED", "DELETED"}
MS_DATE = re.compile(r"/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/")
XERO_CLASS_KINDS = {"EXPENSE": AccountKind.EXPENSE, "REVENUE": AccountKind.REVENUE}


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


def parse_http_date(value) -> datetime.datetime | None:
    """An HTTP Date header (RFC 9110), or None."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(datetime.UTC)
    except (TypeError, ValueError):
        return None


def account_kind(account: dict) -> AccountKind:
    if account.get("Type") == "BANK":  # card accounts too (BankAccountType CREDITCARD)
        return AccountKind.BANK
    if account.get("SystemAccount") == "CREDITORS":
        return AccountKind.PAYABLE
    return XERO_CLASS_KINDS.get(account.get("Class", ""), AccountKind.OTHER)


def entry_state(invoice: dict) -> EntryState:
    status = invoice.get("Status", "")
    amount_paid = money(invoice.get("AmountPaid"))
    return EntryState(
        external_id=invoice["InvoiceID"],
        number=invoice.get("InvoiceNumber", ""),
        status=status,
        total=money(invoice.get("Total")),
        amount_due=money(invoice.get("AmountDue")),
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


def spend_state(transaction: dict) -> EntryState:
    status = transaction.get("Status", "")
    total = money(transaction.get("Total"))
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


def payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    paid_on = parse_xero_date(payment.get("Date"))
    return PaymentState(
        external_id=payment["PaymentID"],
        entry_id=payment.get("Invoice", {}).get("InvoiceID", entry_id),
        amount=money(payment.get("Amount")),
        status=payment.get("Status", ""),
        paid_on=paid_on.date() if paid_on else None,
        updated_at=parse_xero_date(payment.get("UpdatedDateUTC")),
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
