"""A document voided here whose MYOB bill someone paid in MYOB: MYOB deletes no bill with
payments applied (integrations/specs/myob/NOTES.md), so the void fails at once as booked, with
MYOB's words and the way out, nothing is deleted there, and once the payment is deleted in MYOB
a re-sync sends the void. The MYOB emulator in process; the test plays the worker."""

import pytest

from documents import services as document_services
from integrations.models import Provider
from synclog import services
from synclog.models import RecordStatus, StatusCode
from tests.synclog.conftest import bill_record

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", [Provider.MYOB])]


def test_the_void_of_a_bill_paid_in_myob_fails_as_booked_until_the_payment_goes(
    provider, approved_bill, clerk, drain, connection, ledger_books
):
    drain()
    record = bill_record(approved_bill)
    emulator = ledger_books.emulator
    payment = emulator.pay(record.external_id)  # someone pays the bill in MYOB
    document_services.document_void(document=approved_bill, actor=clerk)  # none paid here
    drain()

    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    # Failed at once, not retried: the create, then the one refused void.
    assert [a.outcome for a in record.attempts.order_by("pk")] == ["success", "failed"]
    assert record.last_error_code == StatusCode.DATA_PUSH
    assert "payments applied cannot be deleted" in record.last_error_message
    assert "neither changes a bill with payments applied nor deletes it" in (
        record.last_error_explanation
    )
    assert "delete the payment there first" in record.last_error_hint
    # Nothing deleted in MYOB: the bill, and the payment applied to it.
    assert not ledger_books.is_voided(record.external_id)
    assert emulator.record(payment["UID"])["Lines"][0]["Purchase"]["UID"] == record.external_id

    emulator.delete(payment["UID"])  # the way out MYOB asks for
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger_books.is_voided(record.external_id)
