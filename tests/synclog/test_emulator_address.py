"""A connection saved with an emulator address stops working once emulators are switched off
(or its address is no longer a configured one): every push checks, fails with a configuration
error (4000) and sends nothing, in the one-record path and in a batch."""

import pytest

from synclog import services
from synclog.models import RecordStatus, StatusCode, SyncRecord
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("switch", ["emulators off", "address no longer configured"])
def test_a_push_to_a_disallowed_emulator_address_fails_4000_without_a_call(
    approved_bill, connection, ledger, drain, settings, switch
):
    if switch == "emulators off":
        settings.LEDGER_EMULATOR_ALLOWED = False
    else:
        settings.XERO_EMULATOR_URL = "http://127.0.0.1:8999"
    calls_before = ledger.call_count()
    drain()
    record = SyncRecord.objects.get(document=approved_bill)
    assert record.status == RecordStatus.FAILED
    assert record.last_error_code == StatusCode.CONFIGURATION == 4000
    assert "emulator address that this installation does not allow" in record.last_error_message
    attempt = record.attempts.get()
    assert attempt.status_code == 4000
    assert ledger.call_count() == calls_before
    assert ledger.invoices() == []


def test_a_batch_to_a_disallowed_emulator_address_fails_4000_without_a_call(
    org, clerk, connection, ledger, settings, office
):
    from documents import services as document_services

    bills = [DocumentFactory(org=org, category=office) for _ in range(3)]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)
    settings.LEDGER_EMULATOR_ALLOWED = False
    calls_before = ledger.call_count()
    ids = list(SyncRecord.objects.values_list("pk", flat=True))
    services.sync_batch_push(record_ids=ids, worker="test")
    records = SyncRecord.objects.all()
    assert {(r.status, r.last_error_code) for r in records} == {(RecordStatus.FAILED, 4000)}
    assert ledger.call_count() == calls_before
    assert ledger.invoices() == []
