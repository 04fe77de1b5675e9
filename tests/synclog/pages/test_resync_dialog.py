"""The Re-sync dialog on the Document › Integrations tab: which entries it offers, what a
re-sync of each does, and what it refuses."""

import re

import pytest

from documents import services as document_services
from integrations.models import ConnectionStatus
from synclog.models import (
    AttemptOutcome,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
    Trigger,
)
from tests.factories import DocumentFactory
from tests.synclog.pages.conftest import (
    POLLING,
    log_url,
    resync_url,
    tab_url,
    text,
)


def entry_options(body: str) -> list[str]:
    return re.findall(r'<input type="radio" name="entry" value="(\w+)"', body)


def test_the_payment_entry_is_absent_for_an_unpaid_document(client_for, clerk, approved_bill):
    body = text(client_for(clerk).get(tab_url(approved_bill)))
    assert '<dialog id="resync-dialog"' in body
    assert entry_options(body) == ["bill"]
    assert "Bill entry" in body and "Payment entry" not in body
    assert 'id="no-payment-entry"' in body


def test_a_partly_paid_document_has_no_payment_entry_yet(client_for, clerk, approved_bill):
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="10.00", paid_at="2026-11-05"
    )
    assert entry_options(text(client_for(clerk).get(tab_url(approved_bill)))) == ["bill"]


def test_paid_and_marked_paid_documents_offer_the_payment_entry(
    client_for, clerk, org, approved_bill
):
    client = client_for(clerk)
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    approved_bill.refresh_from_db()
    assert approved_bill.status == "paid"
    assert entry_options(text(client.get(tab_url(approved_bill)))) == ["bill", "payment"]

    marked = DocumentFactory(org=org, status="approved")
    document_services.document_mark_paid(document=marked, actor=clerk)
    marked.refresh_from_db()
    assert marked.marked_paid
    body = text(client.get(tab_url(marked)))
    assert entry_options(body) == ["bill", "payment"]
    assert "Payment entry" in body


@pytest.mark.parametrize("status", ["draft", "awaiting_approval"])
def test_no_resync_before_approval(client_for, clerk, org, plain_connection, status):
    document = DocumentFactory(org=org, status=status)
    body = text(client_for(clerk).get(tab_url(document)))
    assert 'id="resync-open"' not in body and "<dialog" not in body
    assert "it is pushed to the ledger once approved" in body


def test_resync_creates_a_run_and_the_attempt_appears_on_the_tab(
    client_for, clerk, synced_bill, connection, drain
):
    client = client_for(clerk)
    response = client.post(resync_url(synced_bill, connection), {"entry": "bill"})
    assert response.status_code == 302
    run = SyncRun.objects.get(trigger=Trigger.MANUAL)
    assert (run.actor, run.connection, run.total) == (clerk, connection, 1)
    record = SyncRecord.objects.get(document=synced_bill)
    assert (record.status, record.pending_reason) == (
        RecordStatus.PENDING,
        "re-sync of the bill entry",
    )

    page = text(client.get(response["Location"]))
    assert "Re-sync of the bill entry of Bill" in page  # the confirmation message
    assert POLLING in page
    assert "re-sync of the bill entry" in page
    assert page.count("data-attempt-id=") == 1  # the first push only

    drain()
    fragment = text(client.get(log_url(synced_bill, connection)))
    assert POLLING not in fragment
    assert fragment.count("data-attempt-id=") == 2
    newest = SyncAttempt.objects.filter(record=record).first()
    assert (newest.trigger, newest.actor, newest.operation, newest.outcome) == (
        Trigger.MANUAL,
        clerk,
        Operation.NOTHING_TO_PUSH,
        AttemptOutcome.SUCCESS,
    )
    first_row = fragment[fragment.index("data-attempt-id=") :]
    assert first_row.startswith(f'data-attempt-id="{newest.pk}"')
    assert 'Manual<small class="muted">re-sync of the bill entry</small>' in first_row
    assert f"<td>{clerk.get_username()}</td>" in first_row
    assert "Nothing to push" in first_row and str(StatusCode.NOTHING_TO_PUSH) in first_row
    run.refresh_from_db()
    assert run.finished_at is not None


def test_resync_of_the_payment_entry(client_for, clerk, synced_bill, connection, drain):
    document_services.payment_record(
        document=synced_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    response = client_for(clerk).post(resync_url(synced_bill, connection), {"entry": "payment"})
    assert response.status_code == 302
    run = SyncRun.objects.get(trigger=Trigger.MANUAL)
    assert [item.record.entry_type for item in run.items.select_related("record")] == [
        "bill_payment"
    ]


def test_the_payment_entry_is_refused_for_an_unpaid_document(
    client_for, clerk, approved_bill, connection
):
    response = client_for(clerk).post(resync_url(approved_bill, connection), {"entry": "payment"})
    assert response.status_code == 400
    body = text(response)
    assert 'id="relog-errors"' in body
    assert "This document has no such entry to re-sync." in body
    assert 'id="resync-dialog" aria-labelledby="resync-title" data-open-on-load' in body
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("data", [{}, {"entry": "everything"}])
def test_a_bad_choice_is_an_error_in_the_dialog(client_for, clerk, approved_bill, connection, data):
    response = client_for(clerk).post(resync_url(approved_bill, connection), data)
    assert response.status_code == 400
    assert 'id="relog-errors"' in text(response)
    assert not SyncRun.objects.exists()


def test_a_service_refusal_is_shown_in_the_dialog_not_a_500(
    client_for, clerk, approved_bill, connection
):
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    response = client_for(clerk).post(resync_url(approved_bill, connection), {"entry": "bill"})
    assert response.status_code == 400
    body = text(response)
    errors = body[body.index('id="relog-errors"') :]
    assert "Choose an active connection." in errors[: errors.index("</div>")]
    assert not SyncRun.objects.exists()


def test_a_draft_cannot_be_resynced(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="draft")
    response = client_for(clerk).post(resync_url(document, plain_connection), {"entry": "bill"})
    assert response.status_code == 400
    assert "Only approved, paid or void documents are synced." in text(response)
