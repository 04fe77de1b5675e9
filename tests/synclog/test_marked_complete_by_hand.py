"""A record marked Complete by hand (Update Sync Status, after a push the ledger refused): what
the pages say of it, and what the reconcile makes of the entry afterwards. The ledger is the Xero
emulator in process."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from documents import services as document_services
from synclog import services
from synclog.models import (
    AttemptOutcome,
    RecordStatus,
    StatusCode,
    SyncRecord,
    SyncStatusChange,
    Trigger,
)
from synclog.selectors.marks import last_marks_complete
from tests.factories import MembershipFactory
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import reconcile

NOV_15 = datetime.date(2026, 11, 15)


@pytest.fixture
def refused_edit_marked_complete(approved_bill, drain, connection, ledger, clerk, org):
    """The bill in Xero, a reconcile since; then its period locked in Xero, a due date edit
    refused for it, and the record marked Complete by hand: Xero keeps its due date."""
    drain()
    reconcile(connection)
    ledger.set_lock_date(lock_date=NOV_15)  # the bill is dated 1 Nov
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.FAILED, record.last_error_message
    accounting = MembershipFactory(org=org, role="accounting_sync").user
    services.sync_status_update(
        org=org,
        record_ids=[record.pk],
        to_status=RecordStatus.COMPLETE,
        actor=accounting,
        note="Period locked: the due date stays as it is in Xero",
    )
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    return record


def test_our_payment_on_a_bill_marked_complete_by_hand_is_not_a_change_in_xero(
    refused_edit_marked_complete, approved_bill, connection, ledger, clerk, drain
):
    record = refused_edit_marked_complete
    before = ledger.invoice(record.external_id)["UpdatedDateUTC"]
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-20"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert payment.status == RecordStatus.COMPLETE, payment.last_error_message
    # Our payment moved the invoice's UpdatedDateUTC: the reconcile reads it again.
    assert ledger.invoice(record.external_id)["UpdatedDateUTC"] != before

    result = reconcile(connection)

    record.refresh_from_db()
    assert (record.status, record.last_error_message) == (RecordStatus.COMPLETE, "")
    assert result.drifted == 0
    # The first read after the mark keeps what Xero holds as what the mark vouched for, in the
    # record's log, so that later reads are judged by it.
    kept = record.attempts.get(trigger=Trigger.RECONCILE)
    assert (kept.outcome, kept.status_code) == (AttemptOutcome.SUCCESS, StatusCode.NOTHING_TO_PUSH)
    assert kept.reason == "read after it was marked Complete by hand"
    assert "due date 2026-11-30 there, 2026-12-24 here" in kept.explanation

    # Our next payment is ours too; a change made in Xero afterwards is still reported.
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="10.00", paid_at="2026-11-21"
    )
    drain()
    assert reconcile(connection).drifted == 0
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.last_error_message == "Changed in Xero since ledgersync pushed it"
    assert "due date 2027-01-31 there" in record.last_error_explanation


def test_a_change_in_xero_after_the_mark_is_reported(
    refused_edit_marked_complete, connection, ledger
):
    record = refused_edit_marked_complete
    # No write of ours since the mark: the entry changed in Xero after it.
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert "due date 2027-01-31 there" in record.last_error_explanation


def test_our_payment_after_xeros_version_was_accepted_is_not_a_change_in_xero(
    approved_bill, drain, connection, ledger, clerk, org
):
    drain()
    record = bill_record(approved_bill)
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    assert reconcile(connection).drifted == 1
    accounting = MembershipFactory(org=org, role="accounting_sync").user
    services.sync_record_accept_ledger(org=org, record_id=record.pk, actor=accounting)
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-20"
    )
    drain()

    assert reconcile(connection).drifted == 0
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    # Xero's due date changed again after that: a new drift.
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-02-28"})
    assert reconcile(connection).drifted == 1


# --- what the pages say of it -------------------------------------------------------------------


def page_text(client, url) -> str:
    return re.sub(r"\s+", " ", client.get(url).content.decode())


def test_the_integrations_tab_says_who_marked_it_complete_not_that_it_reached_xero(
    refused_edit_marked_complete, approved_bill, connection, clerk, drain, client
):
    record = refused_edit_marked_complete
    mark = SyncStatusChange.objects.get(record=record)
    client.force_login(clerk)
    tab = reverse("synclog:document-integrations", args=[approved_bill.pk])
    page = page_text(client, f"{tab}?connection={connection.pk}")

    marked = page[page.index(f'id="record-{record.pk}-marked"') :].split("</div>")[0]
    said, pushed_line = marked.split("</p>")[:2]
    when = timezone.localtime(mark.changed_at).strftime("%Y-%m-%d %H:%M")
    assert f"Marked Complete by {mark.actor.username} on " in said and f">{when} " in said
    assert "“Period locked: the due date stays as it is in Xero”" in said
    pushed = timezone.localtime(record.synced_at).strftime("%Y-%m-%d %H:%M")
    assert "Complete on this mark, not on a push: ledgersync last pushed this entry" in pushed_line
    assert f">{pushed} " in pushed_line

    # Its payment, pushed by us, is in Xero; the chain does not say the bill entry is.
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-20"
    )
    drain()
    page = page_text(client, f"{tab}?connection={connection.pk}")
    chain = page[page.index('id="chain-state"') :].split("</p>")[0]
    assert ">Complete</span>" in chain and "In the ledger" not in chain
    assert "the bill entry was marked Complete by hand" in chain
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert f'id="record-{payment.pk}-marked"' not in page


def test_an_entry_our_push_put_in_xero_shows_no_mark(
    approved_bill, drain, connection, clerk, client
):
    drain()
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-20"
    )
    drain()
    client.force_login(clerk)
    tab = reverse("synclog:document-integrations", args=[approved_bill.pk])
    page = page_text(client, f"{tab}?connection={connection.pk}")
    assert "Marked Complete by" not in page
    chain = page[page.index('id="chain-state"') :].split("</p>")[0]
    assert ">In the ledger</span>" in chain
    assert "The bill entry and its 1 payment are in Xero." in chain


def test_a_mark_by_an_api_key_names_the_key_not_a_removed_user(approved_bill, drain, org):
    """Update Sync Status over the API (POST /sync-records/update-status) marks with the key's
    label and no user: the tab's mark names the key, as Sync History's "Set by" does."""
    drain()
    record = bill_record(approved_bill)
    SyncRecord.objects.filter(pk=record.pk).update(status=RecordStatus.FAILED)
    services.sync_status_update(
        org=org,
        record_ids=[record.pk],
        to_status=RecordStatus.COMPLETE,
        actor=None,
        actor_label="API key Partner ERP",
        note="Keyed into Xero by the ERP",
    )
    (mark,) = last_marks_complete(record_ids=[record.pk]).values()
    assert mark.by == "API key Partner ERP"
    assert mark.note == "Keyed into Xero by the ERP"
