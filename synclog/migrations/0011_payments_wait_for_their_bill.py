"""Payments that failed only because their bill entry had failed (the engine's words until now:
"The bill entry failed, so its payment cannot be pushed.") wait for their bill instead, as the
engine now leaves them (synclog.services.outcomes._wait_for_bill): Pending, "waits for its bill
entry", shown and retried with their bill. Only while that bill is still Failed; the others
(their bill pushed or reconciled since) stay as they are, for a person to look at."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.utils import timezone

OLD_MESSAGE = "The bill entry failed, so its payment cannot be pushed."
WAITS_FOR_BILL = "waits for its bill entry"
FAILED, PENDING = 2, 0


def payments_wait_for_their_bill(apps, schema_editor):
    SyncRecord = apps.get_model("synclog", "SyncRecord")
    failed_bill = SyncRecord.objects.filter(
        connection_id=OuterRef("connection_id"),
        document_id=OuterRef("document_id"),
        payment__isnull=True,
        status=FAILED,
    )
    payments = (
        SyncRecord.objects.filter(
            status=FAILED, payment__isnull=False, last_error_message=OLD_MESSAGE
        )
        .annotate(
            bill_code=Subquery(failed_bill.values("last_error_code")[:1]),
            bill_message=Subquery(failed_bill.values("last_error_message")[:1]),
        )
        .exclude(bill_message=None)
    )
    now = timezone.now()
    for payment in payments.iterator():
        SyncRecord.objects.filter(pk=payment.pk, status=FAILED).update(
            status=PENDING,
            pending_reason=WAITS_FOR_BILL,
            last_error_code=payment.bill_code or 5130,
            last_error_message=f"Waits for its bill entry, which failed: {payment.bill_message}"[
                :2000
            ],
            last_error_explanation="A payment is pushed only once its bill is in the ledger; "
            "nothing was sent.",
            last_error_hint="Fix the bill entry's error and retry it: this payment follows it, "
            "in the same run.",
            attempt_count=0,
            next_retry_at=None,
            enqueued_at=None,
            updated_at=now,
        )


class Migration(migrations.Migration):
    dependencies = [("synclog", "0010_ledger_reconcile")]

    operations = [
        migrations.RunPython(payments_wait_for_their_bill, migrations.RunPython.noop),
    ]
