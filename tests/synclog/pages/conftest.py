"""Fixtures for the sync pages' tests: members per role, sync records and attempts written
directly (fast, no ledger), and a failed bill pushed through the in-process emulator."""

import datetime
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from integrations.models import ConnectionStatus
from synclog.models import (
    AttemptOutcome,
    EntryType,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    Trigger,
)
from tests.factories import (
    CategoryFactory,
    ConnectionFactory,
    DocumentFactory,
    MembershipFactory,
    SyncRecordFactory,
)

ROLES = [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT]
T0 = datetime.datetime(2026, 11, 5, 12, 0, tzinfo=datetime.UTC)
POLLING = 'hx-trigger="every 2s"'  # the tab's markup while an entry is pending


def tab_url(document, connection=None):
    url = reverse("synclog:document-integrations", args=[document.pk])
    return f"{url}?connection={connection.pk}" if connection else url


def log_url(document, connection):
    return reverse("synclog:document-integration-log", args=[document.pk, connection.pk])


def resync_url(document, connection):
    return reverse("synclog:document-resync", args=[document.pk, connection.pk])


def text(response) -> str:
    """The page's HTML on one line (runs of whitespace as one space)."""
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def member(org):
    """A user of `org` with the given role."""

    def make(role: str):
        return MembershipFactory(org=org, role=role).user

    return make


@pytest.fixture
def plain_connection(org):
    """A connection row without credentials: enough for pages that only read the log."""
    return ConnectionFactory(org=org, status=ConnectionStatus.ACTIVE)


@pytest.fixture
def other_connection(other_org):
    return ConnectionFactory(org=other_org, name="Globex Xero")


@pytest.fixture
def other_document(other_org):
    return DocumentFactory(org=other_org, status="approved", number="GLOBEX-1")


def make_record(document, connection, *, status=RecordStatus.COMPLETE, payment=None, **fields):
    entry_type = EntryType.BILL_PAYMENT if payment else EntryType.BILL
    return SyncRecordFactory(
        connection=connection,
        document=document,
        payment=payment,
        entry_type=entry_type,
        status=status,
        **fields,
    )


def make_attempts(record, count, *, start=T0, **fields):
    """`count` attempts of a record, one minute apart from `start` (the last is the newest)."""
    values = {
        "trigger": Trigger.AUTO,
        "operation": Operation.UPDATE,
        "outcome": AttemptOutcome.SUCCESS,
        "status_code": StatusCode.SUCCESS,
    } | fields
    return SyncAttempt.objects.bulk_create(
        SyncAttempt(
            org_id=record.org_id,
            record=record,
            started_at=start + datetime.timedelta(minutes=i),
            finished_at=start + datetime.timedelta(minutes=i, seconds=1),
            **values,
        )
        for i in range(count)
    )


@pytest.fixture
def failed_bill(org, clerk, connection, drain):
    """A bill whose category has no Xero account: its push fails at once with code 4000."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    document = DocumentFactory(org=org, category=travel, number="INV-1042")
    document_services.document_approve(document=document, actor=clerk)
    drain()
    document.refresh_from_db()
    return document


@pytest.fixture
def synced_bill(approved_bill, drain):
    drain()
    approved_bill.refresh_from_db()
    return approved_bill
