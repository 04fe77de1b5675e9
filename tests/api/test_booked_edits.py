"""Issue 12, item 5: a paid bill edited over the API after its entry is booked in Xero. The
ledger refuses the change because the entry is paid: that refusal is permanent, so it costs
one call and the record is Failed with the explanation, never retried into the wall. Calls are
counted at the emulator."""

import datetime

import pytest

from documents import services as document_services
from synclog import services
from synclog.models import RecordStatus, StatusCode, SyncRecord
from tests.synclog.conftest import approved_bill  # noqa: F401


def ledger_writes(ledger, start: int) -> list[str]:
    return [
        f"{r['method']} {r['path']} {r['status']}"
        for r in ledger.state()["requests"][start:]
        if r["method"] != "GET"
    ]


@pytest.mark.parametrize(
    "change",
    [{"number": "INV-RENAMED"}, {"due_date": "2026-12-24"}, {"issue_date": "2026-10-30"}],
)
def test_a_paid_bill_edited_over_the_api_fails_once_with_the_reason(
    api,
    approved_bill,  # noqa: F811
    drain,
    ledger,
    clerk,
    settings,
    change,  # noqa: F811
):
    drain()
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    record = SyncRecord.objects.get(document=approved_bill, payment__isnull=True)
    assert record.booked
    start = len(ledger.state()["requests"])

    response = api.patch(f"/api/v1/documents/{approved_bill.pk}", change, format="json")
    assert response.status_code == 200
    drain()
    # The worker's later rounds and the beat's sweep find nothing more to send.
    services.sync_sweep(now=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1))
    drain()

    path = f"/api.xro/2.0/Invoices/{record.external_id}"
    assert ledger_writes(ledger, start) == [f"POST {path} 400"]
    record.refresh_from_db()
    assert (record.status, record.last_error_code) == (RecordStatus.FAILED, StatusCode.DATA_PUSH)
    assert "paid, voided or otherwise closed" in record.last_error_explanation
    assert (record.attempt_count, record.next_retry_at) == (0, None)
    assert len(ledger.invoices()) == 1
