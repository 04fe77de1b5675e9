"""Per-connection pacing with a real worker (issue 13, item 5): a small organisation's bulk
re-sync started after another's long backlog finishes first, instead of waiting behind every
batch of it in the FIFO bulk queue. Harness and fixtures: test_worker.py."""

from bench.harness.processes import wait_until
from documents.models import DocumentStatus
from synclog import services
from synclog.models import SyncRun
from tests.factories import CategoryFactory, ContactFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks
from tests.synclog.test_worker import (  # noqa: F401 (fixtures)
    fast_sync,
    make_bills,
    pytestmark,  # real workers, a Redis broker, committed rows
    workers,
    xero_connection,
    xero_server,
)


def test_a_small_bulk_run_does_not_wait_behind_another_organisations_backlog(
    workers,  # noqa: F811
    xero_server,  # noqa: F811
    xero_connection,  # noqa: F811
    org,
    other_org,
    clerk,
    vendor,
    category,
    settings,
):
    url, emulator = xero_server
    settings.SYNC_BATCH_SIZE = 2
    settings.SYNC_BULK_BATCHES_IN_FLIGHT = 2
    backlog = make_bills(org, vendor, category, 24, status=DocumentStatus.APPROVED)
    other_office = CategoryFactory(org=other_org, name="Office", code="429")
    XeroBooks(emulator).connect_org(other_org, base_url=url)  # maps Office by its code
    small = make_bills(
        other_org, ContactFactory(org=other_org), other_office, 2, status=DocumentStatus.APPROVED
    )
    # Both queued before the worker starts: the broker's order alone decides.
    (backlog_run,) = services.bulk_resync(
        org=org, document_ids=[d.pk for d in backlog], actor=clerk
    )
    (small_run,) = services.bulk_resync(
        org=other_org,
        document_ids=[d.pk for d in small],
        actor=MembershipFactory(org=other_org).user,
    )
    workers.start(queues=("bulk",), concurrency=1)

    def finished(run):
        return SyncRun.objects.values_list("finished_at", flat=True).get(pk=run.pk)

    wait_until(lambda: finished(small_run) and finished(backlog_run), timeout=120)
    backlog_run.refresh_from_db()
    small_run.refresh_from_db()
    assert (backlog_run.pushed, small_run.pushed) == (24, 2)
    # Without pacing the backlog's twelve batches were all ahead of the small one.
    assert finished(small_run) < finished(backlog_run)
    assert len(emulator.invoices()) == 26
