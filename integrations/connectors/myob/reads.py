"""MYOB's answers as our neutral states: bills, invoices and spend money, their lines,
payments and account kinds."""

from decimal import Decimal

from integrations.connectors.myob.payloads import MEMO_FIELD, NUMBER_FIELD, PARTY
from integrations.connectors.types import (
    AccountKind,
    EntryKind,
    EntryState,
    LinePayload,
    PaymentState,
    TrackingRef,
)
from integrations.connectors.values import iso_date, money

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


def entry_state(kind: EntryKind, body: dict, *, deleted: bool = False) -> EntryState:
    if kind == EntryKind.SPEND:  # spent at once: nothing owing, nothing to pay later
        total = applied = money(body.get("AmountPaid"))
        balance, paid, status = Decimal("0.00"), False, "Spent"
    else:
        total = money(body.get("TotalAmount"))
        balance = money(body.get("BalanceDueAmount", body.get("TotalAmount")))
        applied = money(body.get("AppliedToDate"))
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
        # MYOB takes no change to a bill with a payment applied (NOTES.md), paid in full or not.
        booked=paid or deleted or (kind != EntryKind.SPEND and applied > 0),
        contact_id=(body.get(PARTY[kind]) or {}).get("UID", ""),
        url=body.get(MEMO_FIELD[kind]) or "",
        gone=deleted,
        approved=not deleted,  # MYOB has no draft bills: an entry there is approved
        issue_date=iso_date(body.get("Date")),
        due_date=iso_date((body.get("Terms") or {}).get("DueDate")),
        lines=tuple(_line_payload(line, body.get("Category")) for line in body["Lines"])
        if "Lines" in body
        else None,
        version=str(body.get("RowVersion") or ""),
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
        unit_amount=money(line.get("Total", line.get("Amount"))),
        account_code=(line.get("Account") or {}).get("DisplayID", ""),
        tracking=tracking,
        tax_type=(line.get("TaxCode") or {}).get("UID", ""),
    )


def payment_state(payment: dict, *, entry_id: str) -> PaymentState:
    amount = payment.get("AmountPaid", payment.get("AmountReceived"))
    return PaymentState(
        external_id=payment["UID"],
        entry_id=entry_id,
        amount=money(amount),
        status="AUTHORISED",
        paid_on=iso_date(payment.get("Date")),
    )
