"""An entry voided in the ledger keeps its words on a batched run (issue 17, item 3): a retry,
bulk re-sync or force sync meets a record the reconcile found "Voided in Xero", sends nothing,
and fails it again with the same message, explanation and fix ("Push as a new entry"), on the
one-record path and on the batch path alike; the bulk preview says the same. The ledger is the
Xero emulator in process; every call it received is counted."""

import pytest

from integrations.models import Connection, ConnectionStatus
from synclog import services
from synclog.models import RecordStatus, SyncAttempt, Trigger
from synclog.selectors.preview import PreviewAction, bulk_resync_preview
from tests.factories import MembershipFactory
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import calls_since, reconcile


@pytest.fixture
def voided(approved_bill, drain, connection, ledger):
    """The bill pushed, then voided in Xero and found so by the reconcile."""
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.COMPLETE
    ledger.void_invoice(record.external_id)
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.ledger_gone and record.last_error_message == "Voided in Xero"
    return record


def _words(record):
    return (
        record.last_error_code,
        record.last_error_message,
        record.last_error_explanation,
        record.last_error_hint,
    )


def _start(how, *, org, connection, document, actor):
    if how == "retry":
        services.retry_failed_records(
            org=org, connection=connection, document_ids=[document.pk], actor=actor
        )
    else:
        services.bulk_resync(org=org, document_ids=[document.pk], actor=actor)


@pytest.mark.parametrize("how", ["retry", "bulk"])
@pytest.mark.parametrize("path", ["one record", "batch"])
def test_a_voided_entry_keeps_its_words_on_a_batched_run_and_nothing_is_sent(
    voided, approved_bill, connection, ledger, org, drain, how, path
):
    before = _words(voided)
    admin = MembershipFactory(org=org, role="admin").user
    # The reconcile cleared the pushed payload's hash: the run's payload differs from it, as
    # in the demo, where the retry met the generic "paid or closed" refusal.
    assert voided.payload_hash == ""
    _start(how, org=org, connection=connection, document=approved_bill, actor=admin)
    voided.refresh_from_db()
    assert voided.status == RecordStatus.PENDING
    start = len(ledger.state()["requests"])
    if path == "batch":
        assert services.sync_batch_push(record_ids=[voided.pk], worker="test") == {}
    else:
        drain()
    assert calls_since(ledger, start) == []
    voided.refresh_from_db()
    assert voided.status == RecordStatus.FAILED and voided.ledger_gone
    assert _words(voided) == before
    attempt = SyncAttempt.objects.filter(record=voided).order_by("-id").first()
    assert attempt.trigger in (Trigger.RETRY, Trigger.BULK)
    assert (attempt.error_message, attempt.calls) == ("Voided in Xero", [])
    # Its fix still works: pushed as a new entry, the document is in Xero again.
    services.resync_as_new_entry(document=approved_bill, connection=connection, actor=admin)
    drain()
    voided.refresh_from_db()
    assert voided.status == RecordStatus.COMPLETE and voided.external_id
    assert len([i for i in ledger.invoices() if i["Status"] != "VOIDED"]) == 1


def test_the_bulk_preview_says_what_the_run_will_do_with_a_voided_entry(
    voided, approved_bill, org, ledger
):
    (preview,) = bulk_resync_preview(org=org, document_ids=[approved_bill.pk])
    (entry,) = preview.entries
    assert (entry.action, entry.reason, entry.hint) == (
        PreviewAction.REFUSED,
        "Voided in Xero",
        voided.last_error_hint,
    )
    assert "Push as a new entry" in entry.hint


def test_the_preview_knows_a_voided_entry_without_reading_the_ledger(
    voided, approved_bill, org, connection, ledger
):
    # The ledger cannot be read now (the connection waits for a reconnect): what the run will
    # do with the entry is still known, in its own words.
    Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_REAUTH)
    start = len(ledger.state()["requests"])
    (preview,) = bulk_resync_preview(org=org, document_ids=[approved_bill.pk])
    (entry,) = preview.entries
    assert (entry.action, entry.reason) == (PreviewAction.REFUSED, "Voided in Xero")
    assert calls_since(ledger, start) == []
