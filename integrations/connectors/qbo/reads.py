"""QuickBooks Online's answers as our neutral states: Bills, Invoices and Purchases (booked
before the company's closing date), their lines, payments and account kinds."""

import datetime
from decimal import Decimal

from integrations.connectors.qbo.payloads import PARTY
from integrations.connectors.types import (
    AccountKind,
    EntryState,
    LinePayload,
    PaymentState,
    TrackingRef,
)
from integrations.connectors.values import iso_date, money

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


def entry_state(entity: str, body: dict, close_date: datetime.date | None = None) -> EntryState:
    total = money(body.get("TotalAmt"))
    spent = entity == "Purchase"  # paid when spent: nothing is ever due on it
    balance = Decimal("0.00") if spent else money(body.get("Balance", body.get("TotalAmt")))
    deleted = body.get("status") == "Deleted"
    voided = entity == "Invoice" and voided_in_quickbooks(body)
    gone = deleted or voided
    # A paid bill or invoice takes no more edits; a Purchase stays editable until its books close.
    paid = not spent and total > 0 and balance == 0
    txn_date = iso_date(body.get("TxnDate"))
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
        due_date=iso_date(body.get("DueDate")),
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


def voided_in_quickbooks(body: dict) -> bool:
    """QuickBooks keeps a voided invoice or payment, its amounts zeroed and "Voided" put before
    its PrivateNote (Intuit's words for Invoice, Payment and BillPayment): that word is the mark
    it leaves, as no status field says so."""
    return str(body.get("PrivateNote", "")).startswith("Voided")


def payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    total = money(payment.get("TotalAmt"))
    voided = total == 0 or voided_in_quickbooks(payment)
    return PaymentState(
        external_id=payment["Id"],
        entry_id=entry_id,
        amount=total,
        status="VOIDED" if voided else "AUTHORISED",
        paid_on=iso_date(payment.get("TxnDate")),
        updated_at=_datetime(payment.get("MetaData", {}).get("LastUpdatedTime")),
    )


def _datetime(value) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
