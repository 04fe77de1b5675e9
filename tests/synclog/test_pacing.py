"""Bulk work paced into the broker per connection (issue 13, item 5): a connection has at most
SYNC_BULK_BATCHES_IN_FLIGHT batches sent, the rest of its backlog waits Pending in the database
and goes as its batches end; the sweep tops connections up instead of sending whole backlogs.

The broker here is a list the tests read as a FIFO queue; a "worker" runs the head message with
the sync_batch task itself, against the in-process Xero emulator."""

import datetime

import pytest
from django.utils import timezone

from synclog import services, tasks
from synclog.models import RecordStatus, SyncRecord
from synclog.ratelimit import get_rate_limiter
from synclog.services import marking
from tests.factories import CategoryFactory, MembershipFactory
from tests.synclog.conftest import approved_bills, paid_bills

K = 2
BATCH = 2


@pytest.fixture
def broker(monkeypatch, settings):
    """Bulk batches sent, in order, as (record ids, queue); single tasks are not expected."""
    settings.SYNC_BATCH_SIZE = BATCH
    settings.SYNC_BULK_BATCHES_IN_FLIGHT = K
    sent = []
    monkeypatch.setattr(
        tasks.sync_batch,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append((list(args[0]), queue)),
    )
    return sent


def bulk_run(org, documents, clerk, capture):
    with capture(execute=True):
        (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    return run


def run_records(run) -> list[int]:
    return list(
        SyncRecord.objects.filter(run=run)
        .order_by("document_id", "pk")
        .values_list("pk", flat=True)
    )


def in_batches(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


def second_organisation(other_org, ledger_books):
    """Another organisation connected to the same emulator: its clerk, category, connection."""
    office = CategoryFactory(org=other_org, name="Office", code="429")
    connection = ledger_books.connect_org(other_org)
    get_rate_limiter().reset(f"connection:{connection.pk}")
    return MembershipFactory(org=other_org).user, office, connection


def work_one(broker, capture) -> list[int]:
    """A worker takes the oldest message and runs it: the pushes, then its connection's top-up."""
    ids, queue = broker.pop(0)
    assert queue == "bulk"
    with capture(execute=True):
        tasks.sync_batch(ids)
    return ids


def test_a_bulk_run_sends_k_batches_and_the_next_as_each_ends(
    org, clerk, connection, office, broker, ledger, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    documents = approved_bills(org, clerk, office, 10 * BATCH)
    run = bulk_run(org, documents, clerk, capture)
    batches = in_batches(run_records(run))
    assert len(batches) == 10

    # Only K go to the broker; the other eight wait, Pending and not sent.
    assert broker == [(batch, "bulk") for batch in batches[:K]]
    waiting = SyncRecord.objects.filter(run=run, enqueued_at__isnull=True)
    assert sorted(waiting.values_list("pk", flat=True)) == sorted(sum(batches[K:], []))

    done = []
    while broker:
        done.append(work_one(broker, capture))
        # One ended, the next one went: never more than K in the broker.
        assert len(broker) <= K
        assert [ids for ids, _ in broker] == batches[len(done) : len(done) + K]
    assert done == batches  # every batch once, in id order
    assert not SyncRecord.objects.filter(run=run).exclude(status=RecordStatus.COMPLETE).exists()
    assert len(ledger.invoices()) == 10 * BATCH


def test_a_batch_is_size_documents_with_all_their_payments(
    org, clerk, connection, office, broker, django_capture_on_commit_callbacks, settings
):
    """Counted in documents, not records: a batch's bills fill one create call and their
    payments follow in calls of the same size (figure 1b: counted in records, a batch of 50 held
    ~17 paid bills and their payments, half the entries of two calls)."""
    settings.SYNC_BATCH_SIZE = 3
    settings.SYNC_BULK_BATCHES_IN_FLIGHT = 10
    paid = paid_bills(org, clerk, office, 7)  # 1, 2, 3, 1, 2, 3, 1 payments
    run = bulk_run(org, paid, clerk, django_capture_on_commit_callbacks)
    by_document = {}
    for pk, document_id in SyncRecord.objects.filter(run=run).values_list("pk", "document_id"):
        by_document.setdefault(document_id, set()).add(pk)
    expected = [
        set().union(*(by_document[d.pk] for d in paid[start : start + 3])) for start in (0, 3, 6)
    ]
    assert [set(ids) for ids, _ in broker] == expected
    assert [len(ids) for ids, _ in broker] == [3 + 6, 3 + 6, 1 + 1]


def test_paced_batches_of_paid_bills_cost_one_call_per_size_entries(
    org, clerk, connection, office, broker, ledger, django_capture_on_commit_callbacks, settings
):
    """Six paid bills (12 payments) in batches of 3 documents: per batch one bills call and two
    payments calls (6 payments, 3 a call); no payment goes alone."""
    settings.SYNC_BATCH_SIZE = 3
    settings.SYNC_BULK_BATCHES_IN_FLIGHT = 1
    paid = paid_bills(org, clerk, office, 6)
    run = bulk_run(org, paid, clerk, django_capture_on_commit_callbacks)
    ledger.requests.clear()
    while broker:
        work_one(broker, django_capture_on_commit_callbacks)
    calls = [(request["method"], request["path"].rsplit("/", 1)[1]) for request in ledger.requests]
    assert sorted(calls) == [("PUT", "Invoices")] * 2 + [("PUT", "Payments")] * 4
    assert not SyncRecord.objects.filter(run=run).exclude(status=RecordStatus.COMPLETE).exists()


def test_two_connections_backlogs_take_turns_in_the_broker(
    org,
    other_org,
    clerk,
    connection,
    office,
    broker,
    ledger,
    ledger_books,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    other_clerk, other_office, theirs = second_organisation(other_org, ledger_books)
    # Four batches each, the first organisation's run started first with all of its own.
    first = bulk_run(org, approved_bills(org, clerk, office, 4 * BATCH), clerk, capture)
    second_documents = approved_bills(other_org, other_clerk, other_office, 4 * BATCH)
    second = bulk_run(other_org, second_documents, other_clerk, capture)
    owner = {pk: "A" for pk in run_records(first)} | {pk: "B" for pk in run_records(second)}

    order = []
    while broker:
        order.append(owner[work_one(broker, capture)[0]])
    # FIFO without pacing would be A A A A B B B B: the second waits for the whole first.
    assert order == ["A", "A", "B", "B", "A", "A", "B", "B"]
    assert len(ledger.invoices()) == 8 * BATCH


def test_the_sweep_tops_up_instead_of_sending_the_backlog_and_resends_a_lost_batch(
    org, clerk, connection, office, broker, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    documents = approved_bills(org, clerk, office, 10 * BATCH)

    # The broker is down when the run starts: nothing is sent, every record waits (the outbox).
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.sync_batch, "apply_async", down)
        run = bulk_run(org, documents, clerk, capture)
    batches = in_batches(run_records(run))
    assert broker == []
    assert not SyncRecord.objects.filter(run=run, enqueued_at__isnull=False).exists()

    # The broker is back: the sweep sends the connection's K batches, not its whole backlog.
    with capture(execute=True):
        assert services.sync_sweep() == K * BATCH
    assert broker == [(batch, "bulk") for batch in batches[:K]]
    with capture(execute=True):
        assert services.sync_sweep() == 0  # full: nothing more goes
    assert len(broker) == K

    # The first batch's worker is killed mid-push (its lease runs out), its message gone.
    broker.pop(0)
    past = timezone.now() - datetime.timedelta(seconds=1)
    SyncRecord.objects.filter(pk__in=batches[0]).update(claimed_by="dead", claimed_until=past)
    with capture(execute=True):
        assert services.sync_sweep() == BATCH
    # Resent first, before the rest of the backlog; the second batch is still in flight.
    assert broker == [(batches[1], "bulk"), (batches[0], "bulk")]

    # A message lost with no lease (a broker restart) is resent once it is old enough.
    broker.pop(0)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    SyncRecord.objects.filter(pk__in=batches[1]).update(enqueued_at=long_ago)
    with capture(execute=True):
        assert services.sync_sweep() == BATCH
    assert broker == [(batches[0], "bulk"), (batches[1], "bulk")]


def test_a_connection_waiting_for_a_reconnect_sends_nothing_until_it_resumes(
    org, clerk, connection, office, broker, django_capture_on_commit_callbacks
):
    from integrations.models import ConnectionStatus

    capture = django_capture_on_commit_callbacks
    documents = approved_bills(org, clerk, office, 4 * BATCH)
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.save(update_fields=["status"])
    run = bulk_run(org, documents, clerk, capture)
    assert broker == []
    with capture(execute=True):
        assert services.sync_sweep() == 0

    connection.status = ConnectionStatus.ACTIVE
    connection.save(update_fields=["status"])
    with capture(execute=True):
        services.connection_resume(connection=connection)
    assert broker == [(batch, "bulk") for batch in in_batches(run_records(run))[:K]]


def test_a_top_up_sends_nothing_of_another_connection(
    org, other_org, clerk, connection, office, broker, ledger_books
):
    """Tenants never meet: one connection's top-up sends only its own records."""
    other_clerk, other_office, theirs = second_organisation(other_org, ledger_books)
    documents = approved_bills(other_org, other_clerk, other_office, 2 * BATCH)
    services.bulk_resync(org=other_org, document_ids=[d.pk for d in documents], actor=other_clerk)
    SyncRecord.objects.update(enqueued_at=None)

    assert marking.connection_bulk_top_up(connection_id=connection.pk) == 0
    assert marking.connection_bulk_top_up(connection_id=theirs.pk) == 2 * BATCH
