"""Sync engine fixtures: an organisation connected to a ledger's emulator in process (Xero unless
a test parametrises `provider`), and a `drain` that plays the worker: it pushes every due Pending
record until none is left."""

import datetime
import time

import pytest

from accounts.models import Role
from documents import services as document_services
from integrations.models import Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from synclog.ratelimit import get_rate_limiter
from tests.factories import DocumentFactory, MembershipFactory
from tests.ledger_fixtures import UNLIMITED  # noqa: F401 (imported from here by other tests)


@pytest.fixture
def enqueued(monkeypatch):
    """Tasks sent to the broker, as (record id, countdown, queue), instead of sending them."""
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.sync_record,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append((args[0], countdown, queue)),
    )
    # Bulk triggers send batches: each batch's ids, as if sent one by one.
    monkeypatch.setattr(
        tasks.sync_batch,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.extend(
            (record_id, countdown, queue) for record_id in args[0]
        ),
    )
    return sent


@pytest.fixture
def member_role():
    """The role member_client() signs in with when it is not told one (a folder's conftest may
    say another)."""
    return Role.AP_CLERK


@pytest.fixture
def member_client(client, org, member_role):
    """Sign the test client in as a new member of `org` with `role`; returns the client."""

    def login(role=None):
        client.force_login(MembershipFactory(org=org, role=role or member_role).user)
        return client

    return login


@pytest.fixture
def reconcile_tasks(monkeypatch):
    """The reconcile tasks sent to the broker, as (connection id, countdown, queue)."""
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile,
        "apply_async",
        lambda args, countdown=None, queue=None: sent.append((args[0], countdown, queue)),
    )
    return sent


@pytest.fixture
def office(category):
    # The conftest's category (Office, account 429), which the `bill` fixture books to.
    return category


@pytest.fixture
def connection(request, org, provider, ledger_books, office, enqueued):
    """The organisation connected to the `provider`'s emulator (Xero unless parametrised), its
    categories mapped; on QuickBooks and MYOB the conftest's vendor too (they take none by name)."""
    if provider in (Provider.QUICKBOOKS, Provider.MYOB):
        request.getfixturevalue("vendor")
    connection = ledger_books.connect_org(org)
    yield connection
    get_rate_limiter().reset(services.connection_quota_key(connection=connection))


def pending_ids():
    return list(
        SyncRecord.objects.filter(status=RecordStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@pytest.fixture
def drain():
    """Push every Pending record as a worker would, as if retry delays had passed."""

    def run(rounds: int = 20, deadline_seconds: float = 10.0):
        deadline = time.monotonic() + deadline_seconds
        for _ in range(rounds):
            ids = pending_ids()
            if not ids:
                return
            SyncRecord.objects.filter(pk__in=ids).update(next_retry_at=None)
            waits = [services.sync_record_push(record_id=pk, worker="test") for pk in ids]
            quota_waits = [w for w in waits if w]
            if quota_waits and time.monotonic() < deadline:
                # Only a quota pause or a Retry-After needs real time to pass.
                until = time.monotonic() + min(min(quota_waits), 2.0)
                while time.monotonic() < until:
                    time.sleep(0.05)

    return run


@pytest.fixture
def approved_bill(bill, clerk, connection):
    document_services.document_approve(document=bill, actor=clerk)
    bill.refresh_from_db()
    return bill


def bill_record(document) -> SyncRecord:
    """The document's own entry's record (not one of its payments')."""
    return SyncRecord.objects.get(document=document, payment__isnull=True)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


# Bills made and approved in bulk, for the batch, pacing and outage tests.


def approved_bills(org, clerk, category, count):
    documents = []
    for index in range(count):
        document = DocumentFactory(org=org, category=category, number=f"BATCH-{index:03d}")
        document_services.document_approve(document=document, actor=clerk)
        documents.append(document)
    return documents


def run_records(run):
    return list(SyncRecord.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))


def paid_bills(org, clerk, category, count, *, prefix="PAID"):
    """Approved bills with 1, 2, 3, 1, … payments of 10.00 each."""
    documents = []
    for index in range(count):
        document = DocumentFactory(org=org, category=category, number=f"{prefix}-{index:03d}")
        document_services.document_approve(document=document, actor=clerk)
        for _ in range(1 + index % 3):
            document_services.payment_record(
                document=document, actor=clerk, amount="10.00", paid_at="2026-11-05"
            )
        documents.append(document)
    return documents
