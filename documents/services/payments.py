"""Payments of documents: recorded in full or in part, or a document marked paid outside."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from documents.models import Document, DocumentStatus, Payment
from documents.services.documents import _actor_label_if_no_user, _lock
from documents.validation import ErrorCollector, clean_text, parse_date, parse_money
from synclog.services import request_sync


def _payment_add(
    document: Document,
    *,
    actor,
    amount: Decimal,
    paid_at,
    reference: str,
    bank_account: str,
    actor_label: str = "",
) -> Payment:
    payment = Payment(
        org=document.org,
        document=document,
        amount=amount,
        paid_at=paid_at,
        reference=reference,
        bank_account=bank_account,
        created_by=actor,
        created_by_label=_actor_label_if_no_user(actor, actor_label),
    )
    payment.save()
    document.amount_paid = document.payments.aggregate(paid=Sum("amount"))["paid"] or Decimal(
        "0.00"
    )
    update_fields = ["amount_paid", "updated_at"]
    if document.amount_paid == document.total:
        document.status = DocumentStatus.PAID
        update_fields.append("status")
    document.save(update_fields=update_fields)
    return payment


@transaction.atomic
def payment_record(
    *,
    document: Document,
    actor,
    amount,
    paid_at,
    reference: str = "",
    bank_account: str = "",
    actor_label: str = "",
) -> Payment:
    """Record a full or partial payment; the document becomes paid when nothing is left due.
    `actor_label`: the API key that recorded it, when no user did (named in its push's log)."""
    document = _lock(document)
    errors = ErrorCollector()
    if document.is_spend:
        raise ValidationError(
            f"A {document.get_expense_type_display().lower()} was paid when it was spent: the "
            "ledger books it as spend money, with no payment to record."
        )
    if document.status != DocumentStatus.APPROVED:
        raise ValidationError(
            f"Payments can be recorded on approved documents only; this one is "
            f"{document.get_status_display().lower()}."
        )
    amount = errors.run(parse_money, amount, field="amount", allow_zero=False)
    paid_at = errors.run(parse_date, paid_at, field="paid_at")
    reference = errors.run(clean_text, reference, field="reference", max_length=100)
    bank_account = errors.run(clean_text, bank_account, field="bank_account", max_length=100)
    if amount is not None and amount > document.amount_due:
        errors.add(
            "amount",
            f"The payment is more than the {document.amount_due} {document.currency} still due.",
        )
    if paid_at is not None and paid_at < document.issue_date:
        errors.add("paid_at", "The payment date cannot be before the document's issue date.")
    errors.raise_if_any()
    payment = _payment_add(
        document,
        actor=actor,
        amount=amount,
        paid_at=paid_at,
        reference=reference,
        bank_account=bank_account,
        actor_label=actor_label,
    )
    request_sync(
        document=document,
        reason="payment recorded",
        actor=actor,
        actor_label=actor_label,
        entry=False,
        payments=[payment],
    )
    return payment


@transaction.atomic
def document_mark_paid(
    *, document: Document, actor, paid_at: datetime.date | None = None, reference: str = ""
) -> Payment:
    """Mark a document paid outside this system: a payment of the balance, flagged as such."""
    document = _lock(document)
    if document.is_spend:
        raise ValidationError(
            f"A {document.get_expense_type_display().lower()} was paid when it was spent."
        )
    if document.status != DocumentStatus.APPROVED:
        raise ValidationError(
            f"Only an approved document can be marked paid; this one is "
            f"{document.get_status_display().lower()}."
        )
    if document.amount_due <= 0:
        raise ValidationError("Nothing is due on this document.")
    reference = clean_text(reference, field="reference", max_length=100)
    paid_at = parse_date(paid_at or timezone.localdate(), field="paid_at")
    if paid_at < document.issue_date:
        raise ValidationError(
            {"paid_at": "The payment date cannot be before the document's issue date."}
        )
    document.marked_paid = True
    document.save(update_fields=["marked_paid"])
    payment = _payment_add(
        document,
        actor=actor,
        amount=document.amount_due,
        paid_at=paid_at,
        reference=reference or "Marked paid",
        bank_account="",
    )
    request_sync(
        document=document, reason="marked paid", actor=actor, entry=False, payments=[payment]
    )
    return payment
