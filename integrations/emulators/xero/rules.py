"""What the emulated Xero's rules allow and the words it refuses with (Xero's where known; README.md
lists the emulator's own), shared by the ledger's parts."""

import re
from dataclasses import dataclass, field
from decimal import Decimal

INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")


CREATABLE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")


# Status changes a client may ask for (PAID is only ever set by payments).
TRANSITIONS = {
    "DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"VOIDED"},
}


LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


MAX_TRACKING_PER_LINE = 2


MAX_ATTACHMENTS = 10


CENT = Decimal("0.01")


NOT_EDITABLE = "Invoice not of valid status for modification"


LOCKED = "The document date cannot be before the period lock date"


ARCHIVED_CONTACT = (
    "The contact has been archived. Transactions cannot be created for archived contacts."
)


TOTAL_MISMATCH = "The total for this document does not match the sum of the line items"


OVERPAYMENT = "Payment amount exceeds the amount outstanding on this document"


# The emulator's own wording (README): Xero's is not published.
NOT_A_BANK_ACCOUNT = "The BankAccount must be an active bank account of the organisation"


BANK_RECONCILED = (
    "This Bank Transaction cannot be edited as it has been reconciled with a Bank Statement."
)


NOT_AUTHORISED = "Payments can only be made against Authorised documents"


class LedgerError(ValueError):
    """A request the rules refuse outside a batch (control API, attachments)."""


@dataclass
class ElementResult:
    """The outcome for one element of a batch: errors, or the record it saved."""

    submitted: object
    errors: list[str] = field(default_factory=list)
    record: object = None


def two_passes(elements, plan, apply, *, summarize_errors: bool) -> list[ElementResult]:
    """A batch write as Xero makes it: every element checked against the current state first
    (`plan(element)` -> (plan, errors)), then the valid ones saved (`apply(plan)`); none of them
    when `summarize_errors` is true and any element failed."""
    results, plans = [], []
    for element in elements:
        planned, errors = plan(element)
        results.append(ElementResult(element, errors))
        plans.append(planned)
    if summarize_errors and any(r.errors for r in results):
        return results
    for result, planned in zip(results, plans, strict=True):
        if not result.errors:
            result.record = apply(planned)
    return results
