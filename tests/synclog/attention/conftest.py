"""Fixtures and helpers for the Requires-attention tests: failed records written directly, two
causes of failure made by the engine, another organisation's failure, a member signed in."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from documents import services as document_services
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from synclog.models import (
    EntryType,
    RecordStatus,
    StatusCode,
    SyncRecord,
)
from tests.factories import CategoryFactory, DocumentFactory

ROLES = [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT]
MAPPING_MESSAGE = "Category Travel has no Xero mapping."


def html(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def text(response) -> str:
    """What a reader sees: the page without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def failed_record(document, connection, *, code=StatusCode.CONFIGURATION, message=MAPPING_MESSAGE):
    """A Failed record written directly (what the engine leaves after a permanent failure)."""
    return SyncRecord.objects.create(
        org=document.org,
        connection=connection,
        document=document,
        entry_type=EntryType.BILL,
        status=RecordStatus.FAILED,
        last_error_code=code,
        last_error_message=message,
        last_error_explanation=f"Explanation of {message}",
        last_error_hint=f"Hint for {message}",
    )


@pytest.fixture
def member_role():
    # member_client() signs in as Support: the role that retries a group (README, Roles).
    return Role.SUPPORT


@pytest.fixture
def travel(org):
    return CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart


@pytest.fixture
def sundries(org):
    return CategoryFactory(org=org, name="Sundries", code="998")  # not in Xero's chart either


def approve_all(documents, actor):
    for document in documents:
        document_services.document_approve(document=document, actor=actor)


@pytest.fixture
def two_causes(org, clerk, connection, drain, travel, sundries, office):
    """Three Travel bills and two Sundries bills fail (no mapping); one Office bill syncs."""
    travel_bills = [DocumentFactory(org=org, category=travel) for _ in range(3)]
    sundries_bills = [DocumentFactory(org=org, category=sundries) for _ in range(2)]
    fine = DocumentFactory(org=org, category=office)
    approve_all([*travel_bills, *sundries_bills, fine], clerk)
    drain()
    return travel_bills, sundries_bills, fine


@pytest.fixture
def foreign_failure(other_org):
    connection = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    document = DocumentFactory(org=other_org, number="THEIRS-1", status=DocumentStatus.APPROVED)
    return failed_record(document, connection, message="Their secret failure.")


def set_updated_at(record, minutes_ago):
    SyncRecord.objects.filter(pk=record.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )
