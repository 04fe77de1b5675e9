"""Update Sync Status from the Sync History page: to Complete after a manual reconcile, to Pending
for a fresh attempt, select-all-matching, bad input, another organisation's ids, the engine's
failures sent again."""

import pytest
from django.utils import timezone

from documents import services as document_services
from synclog.filters import one_month_before
from synclog.models import EntryType, RecordStatus, SyncRecord, SyncStatusChange
from tests.factories import CategoryFactory, DocumentFactory
from tests.synclog.history import days_ago, make_connection, make_record
from tests.synclog.history.conftest import HISTORY, UPDATE, messages_of, row_ids
from tests.tenancy import assert_not_found_for_other_tenant

# --- Update Sync Status ---------------------------------------------------------------------------


def test_update_to_complete_after_a_manual_reconcile(signed_in, accountant, xero):
    failed = [make_record(connection=xero) for _ in range(2)]
    untouched = make_record(connection=xero)
    response = signed_in.post(
        UPDATE,
        {
            "tab": "bill",
            "status": "failed",
            "scope": "selected",
            "record_ids": [record.pk for record in failed],
            "to_status": "complete",
            "note": "Entered by hand in Xero",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(HISTORY + "?")
    assert "status=failed" in response["Location"]
    assert messages_of(response) == ["2 records marked Complete."]
    for record in failed:
        record.refresh_from_db()
        assert record.status == RecordStatus.COMPLETE
        change = record.status_changes.get()
        assert (change.actor, change.from_status, change.to_status, change.note) == (
            accountant,
            RecordStatus.FAILED,
            RecordStatus.COMPLETE,
            "Entered by hand in Xero",
        )
    untouched.refresh_from_db()
    assert untouched.status == RecordStatus.FAILED
    # The reconciled records have left the Failed filter.
    assert row_ids(signed_in.get(HISTORY)) == [untouched.pk]


def test_complete_refuses_records_that_are_not_failed(signed_in, xero):
    failed = make_record(connection=xero)
    pending = make_record(connection=xero, status=RecordStatus.PENDING)
    response = signed_in.post(
        UPDATE,
        {"scope": "selected", "record_ids": [failed.pk, pending.pk], "to_status": "complete"},
    )
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert message.startswith("Nothing was changed: 1 of the 2 selected records is not Failed.")
    assert "Only failed records can be marked Complete" in message
    failed.refresh_from_db()
    assert failed.status == RecordStatus.FAILED
    assert not SyncStatusChange.objects.exists()


def test_update_to_pending_for_a_fresh_attempt(signed_in, accountant, xero):
    complete = make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(3))
    failed = make_record(connection=xero)
    response = signed_in.post(
        UPDATE,
        {
            "status": "complete",
            "scope": "selected",
            "record_ids": [complete.pk, failed.pk],
            "to_status": "pending",
        },
    )
    assert messages_of(response) == ["2 records set to Pending: ledgersync pushes them again now."]
    assert "status=complete" in response["Location"]
    for record, was in ((complete, RecordStatus.COMPLETE), (failed, RecordStatus.FAILED)):
        record.refresh_from_db()
        assert record.status == RecordStatus.PENDING
        change = record.status_changes.get()
        assert (change.actor, change.from_status, change.to_status, change.note) == (
            accountant,
            was,
            RecordStatus.PENDING,
            "",
        )


def test_select_all_matching_acts_on_every_record_of_the_filter(signed_in, xero):
    matching = [make_record(connection=xero) for _ in range(55)]
    other_tab = make_record(connection=xero, entry_type=EntryType.INVOICE)
    out_of_range = make_record(connection=xero, updated_at=days_ago(90))
    page = signed_in.get(HISTORY)
    assert len(row_ids(page)) == 50
    assert b"Select all 55 matching" in page.content

    today = timezone.localdate()
    response = signed_in.post(
        UPDATE,
        {
            "tab": "bill",
            "status": "failed",
            "date_from": one_month_before(today).isoformat(),
            "date_to": today.isoformat(),
            "scope": "matching",
            "to_status": "complete",
        },
    )
    assert messages_of(response) == ["55 records marked Complete."]
    assert SyncRecord.objects.filter(status=RecordStatus.COMPLETE).count() == 55
    assert {c.record_id for c in SyncStatusChange.objects.all()} == {r.pk for r in matching}
    for record in (other_tab, out_of_range):
        record.refresh_from_db()
        assert record.status == RecordStatus.FAILED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "selected", "to_status": "complete"}, "Select at least one record."),
        ({"scope": "selected", "record_ids": ["x1"], "to_status": "complete"}, "not valid"),
        ({"scope": "selected", "record_ids": ["9" * 30], "to_status": "complete"}, "not valid"),
        ({"scope": "everything", "record_ids": ["1"], "to_status": "complete"}, "valid choice"),
        ({"scope": "selected", "record_ids": ["1"], "to_status": "failed"}, "valid choice"),
        ({"scope": "selected", "record_ids": ["1"]}, "required"),
        (
            {"scope": "matching", "to_status": "complete", "date_from": "nope"},
            "Fix the filters first",
        ),
        (
            {"scope": "matching", "to_status": "complete", "tab": "invoice"},
            "No record matches these filters",
        ),
    ],
)
def test_bad_update_input_is_a_message_not_500(signed_in, xero, data, message):
    record = make_record(connection=xero)
    response = signed_in.post(UPDATE, data)
    assert response.status_code == 302
    assert any(message in text for text in messages_of(response))
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED


def test_other_organisations_record_ids_are_404_and_unchanged(signed_in, other_org, xero):
    foreign = make_record(connection=make_connection(other_org))
    data = {"scope": "selected", "record_ids": [foreign.pk], "to_status": "complete"}
    assert_not_found_for_other_tenant(signed_in, "post", UPDATE, data)
    foreign.refresh_from_db()
    assert foreign.status == RecordStatus.FAILED

    mine = make_record(connection=xero)
    data["record_ids"] = [foreign.pk, mine.pk]
    response = signed_in.post(UPDATE, data)
    assert messages_of(response) == ["1 record marked Complete."]
    foreign.refresh_from_db()
    mine.refresh_from_db()
    assert (foreign.status, mine.status) == (RecordStatus.FAILED, RecordStatus.COMPLETE)
    assert not foreign.status_changes.exists()


def test_a_failure_from_the_engine_is_listed_and_can_be_sent_again(
    client, org, clerk, accountant, connection, drain
):
    """End to end: a bill whose category has no account mapping fails (4000) and shows here with
    the explanation; set to Pending it is pushed again (and fails again, still unmapped)."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    document = DocumentFactory(org=org, category=travel, number="TRV-1")
    document_services.document_approve(document=document, actor=clerk)
    drain()
    record = SyncRecord.objects.get(document=document)
    assert record.status == RecordStatus.FAILED

    client.force_login(accountant)
    response = client.get(HISTORY)
    assert row_ids(response) == [record.pk]
    html = response.content.decode()
    assert "TRV-1" in html
    assert "4000" in html
    assert record.last_error_explanation in html

    client.post(UPDATE, {"scope": "selected", "record_ids": [record.pk], "to_status": "pending"})
    record.refresh_from_db()
    assert (record.status, record.pending_reason) == (RecordStatus.PENDING, "status set to Pending")
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.attempts.count() == 2
    assert record.attempts.first().actor == accountant
