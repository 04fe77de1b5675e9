"""Fixtures and helpers for the Sync Health tests: connections without a ledger behind them,
runs and items written directly, the pages' URLs, a query count, and a failing run made by
the engine."""

import datetime
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from documents import services as document_services
from integrations.models import Connection, Provider
from synclog.models import (
    EntryType,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory

ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT
HEALTH_ROLES = {ADMIN, ACCOUNTING, SUPPORT}
SIGN_IN = re.compile(r"^/sign-in/\?next=")


@pytest.fixture
def books(org):
    """A connection for page-only tests (no ledger behind it)."""
    return Connection.objects.create(
        org=org,
        provider=Provider.XERO,
        name="Books",
        tenant_id="tenant-123",
        tenant_name="Demo Company",
        settings={"payment_account_code": "090"},
    )


@pytest.fixture
def other_books(other_org):
    return Connection.objects.create(
        org=other_org, provider=Provider.XERO, name="Other books", tenant_name="Globex Ledger"
    )


def member(org, role):
    return MembershipFactory(org=org, role=role).user


def make_run(connection, *, code=StatusCode.SUCCESS, started=None, finished=True, **fields):
    started = started or timezone.now() - datetime.timedelta(minutes=5)
    return SyncRun.objects.create(
        org=connection.org,
        connection=connection,
        trigger=fields.pop("trigger", Trigger.BULK),
        status_code=code,
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=30) if finished else None,
        **fields,
    )


def add_items(run, count, *, outcome=RunItemOutcome.PUSHED):
    """`count` documents, each with a bill record pushed in `run`."""
    for index in range(count):
        document = DocumentFactory(org=run.org, number=f"{run.pk}-DOC-{index:03d}")
        record = SyncRecord.objects.create(
            org=run.org,
            connection=run.connection,
            document=document,
            entry_type=EntryType.BILL,
            status=RecordStatus.COMPLETE,
            run=run,
        )
        SyncRunItem.objects.create(
            run=run, record=record, outcome=outcome, status_code=StatusCode.SUCCESS
        )


def health_url(**params):
    url = reverse("synclog:health")
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def run_url(run):
    return reverse("synclog:health-run", args=[run.public_id])


def shown_run_ids(response) -> list[str]:
    return [str(run.public_id) for run in response.context["page"]]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.fixture
def failing_run(org, clerk, connection, drain, office):
    """A bulk re-sync of three bills, two of which book to a category Xero has no account for."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    documents = [
        DocumentFactory(org=org, category=office, number="OK-1"),
        DocumentFactory(org=org, category=travel, number="TRV-1"),
        DocumentFactory(org=org, category=travel, number="TRV-2"),
    ]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    from synclog import services

    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    run.refresh_from_db()
    assert (run.failed, run.pushed, run.status_code) == (2, 1, StatusCode.CONFIGURATION)
    run.travel = travel
    return run
