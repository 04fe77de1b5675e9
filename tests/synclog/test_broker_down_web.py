"""A person's re-syncs do not fail while Redis is down: the bulk re-sync and a document's
re-sync answer as usual, their records wait Pending, unsent, for the sweep (the outbox); "Check
the ledger now" says it could not be queued and saves nothing, so it can be asked again. Tasks
go to a broker address where nothing listens (no Redis needed); sends really happen."""

from django.urls import reverse
from django.utils import timezone

from integrations.models import ConnectionEvent, ConnectionEventKind
from synclog import tasks
from synclog.models import LedgerReconcile, RecordStatus, SyncRecord
from tests.factories import DocumentFactory


def test_resyncs_answer_and_leave_their_records_to_the_sweep(
    member_client, org, ledger_books, office, dead_broker, django_capture_on_commit_callbacks
):
    connection = ledger_books.connect_org(org)
    documents = [
        DocumentFactory(org=org, number=f"R-{n}", status="approved", category=office)
        for n in range(3)
    ]
    client = member_client()

    with django_capture_on_commit_callbacks(execute=True):
        bulk = client.post(
            reverse("synclog:bulk-resync"), {"document_ids": [d.pk for d in documents[:2]]}
        )
        one = client.post(
            reverse("synclog:document-resync", args=[documents[2].pk, connection.pk]),
            {"entry": "bill"},
        )

    assert bulk.status_code == 302, bulk.content[:500]
    assert one.status_code == 302, one.content[:500]
    records = SyncRecord.objects.filter(document__in=documents, payment__isnull=True)
    assert records.count() == 3
    # Pending and not marked sent: the sweep sends them once the broker is back.
    assert set(records.values_list("status", "enqueued_at")) == {(RecordStatus.PENDING, None)}


def test_check_the_ledger_now_says_it_could_not_be_queued_and_may_be_asked_again(
    admin_client, connection, dead_broker, monkeypatch
):
    url = reverse("integrations:ledger-check", args=[connection.pk])

    swapped = admin_client.post(url, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200, swapped.content[:500]
    section = swapped.content.decode()
    assert "could not be queued: the task queue is unavailable" in section
    assert "A check is queued" not in section and 'id="ledger-check-progress"' not in section
    # Nothing was saved: no "queued" mark to refuse the next request with, no audit of a check.
    assert not LedgerReconcile.objects.filter(requested_at__isnull=False).exists()
    assert not ConnectionEvent.objects.filter(kind=ConnectionEventKind.LEDGER_CHECK).exists()

    page = admin_client.post(url, follow=True)
    assert page.status_code == 200
    assert "could not be queued" in page.content.decode()

    # The broker is back: the same button queues the check.
    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile,
        "apply_async",
        lambda args, countdown=None, queue=None: sent.append(args[0]),
    )
    again = admin_client.post(url, HTTP_HX_REQUEST="true")
    assert "A check is queued" in again.content.decode()
    assert sent == [connection.pk]
    assert LedgerReconcile.objects.get(connection=connection).queued(timezone.now())
