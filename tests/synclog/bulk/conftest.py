"""Fixtures and helpers for the bulk re-sync tests: approved documents, another organisation's
connection, the pages' URLs and a query count (a member signed in with a role is
tests/synclog/conftest.py's member_client: an AP clerk unless told)."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from documents.models import Category, DocumentStatus
from integrations.models import Connection, Provider
from tests.factories import DocumentFactory

ROLES = [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT]


def approved(org, count, prefix="B", **kwargs):
    # Booked to Office (429, mapped by the `connection` fixture) unless told otherwise.
    if "category" not in kwargs:
        kwargs["category"], _ = Category.objects.get_or_create(
            org=org, code="429", defaults={"name": "Office"}
        )
    return [
        DocumentFactory(
            org=org, number=f"{prefix}-{index:03d}", status=DocumentStatus.APPROVED, **kwargs
        )
        for index in range(count)
    ]


def ids_of(documents):
    return [document.pk for document in documents]


@pytest.fixture
def foreign_connection(other_org):
    return Connection.objects.create(org=other_org, provider=Provider.XERO, name="Their Xero")


def start(client, data):
    return client.post(reverse("synclog:bulk-resync"), data)


def progress_url(run):
    return reverse("synclog:bulk-progress", args=[run.public_id])


def queries(client, method, url, data=None):
    with CaptureQueriesContext(db) as captured:
        response = getattr(client, method)(url, data or {})
    assert response.status_code in (200, 302), response.content[:500]
    return len(captured)
