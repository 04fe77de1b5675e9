"""A person's re-syncs do not fail while Redis is down: the bulk re-sync and a document's
re-sync answer as usual, their records wait Pending, unsent, for the sweep (the outbox). Tasks
go to a broker address where nothing listens (no Redis needed); sends really happen."""

import pytest
from django.urls import reverse

from bench.harness.processes import broker_for_this_process, free_port
from synclog.models import RecordStatus, SyncRecord
from tests.factories import DocumentFactory


@pytest.fixture
def dead_broker():
    with broker_for_this_process(f"redis://127.0.0.1:{free_port()}/0"):
        yield


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
