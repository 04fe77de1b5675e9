"""Sync engine fixtures: an organisation connected to the in-process Xero emulator, and a
`drain` that plays the worker: it pushes every due Pending record until none is left."""

import datetime
import time

import pytest

from documents import services as document_services
from integrations import services as integration_services
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from synclog.ratelimit import get_rate_limiter
from tests.ledger_fixtures import EMULATOR_URL, credentials_from_token

# Generous, so that tests about other rules never wait for quota.
UNLIMITED = {"per_window": 100_000, "window_seconds": 60, "max_concurrent": 100, "per_day": 10**7}


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
def office(category):
    # The conftest's category (Office, account 429), which the `bill` fixture books to.
    return category


@pytest.fixture
def connection(org, ledger, office, enqueued):
    ledger.set_rate_limits(calls_per_window=100_000, max_concurrent=100, calls_per_day=10**7)
    connection = Connection.objects.create(
        org=org,
        provider=Provider.XERO,
        name="Xero",
        base_url=EMULATOR_URL,
        tenant_id=ledger.default_tenant_id,
        settings={"payment_account_code": "090", "rate_limits": UNLIMITED},
    )
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(ledger.connect())
    )
    accounts = integration_services.connector_for(connection).list_accounts()
    integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)
    get_rate_limiter().reset(f"connection:{connection.pk}")
    yield connection
    get_rate_limiter().reset(f"connection:{connection.pk}")


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


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)
