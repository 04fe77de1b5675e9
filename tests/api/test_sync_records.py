"""Sync records with the history page's filters, and Update Sync Status."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from documents import services as document_services
from synclog.models import RecordStatus, SyncRecord, SyncStatusChange
from tests.api.conftest import error_fields
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.synclog.pages.conftest import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(org, vendor, category, connection, drain):
    """One Complete bill, one Failed bill (unmapped category), one Pending bill."""
    complete = DocumentFactory(org=org, contact=vendor, category=category, number="C-1")
    travel = CategoryFactory(org=org, name="Travel", code="999")
    failed = DocumentFactory(org=org, contact=vendor, category=travel, number="F-1")
    for document in (complete, failed):
        document_services.document_approve(document=document, actor=None)
    drain()
    pending = DocumentFactory(org=org, contact=vendor, category=category, number="P-1")
    document_services.document_approve(document=pending, actor=None)
    by_number = {
        record.document.number: record for record in SyncRecord.objects.select_related("document")
    }
    return by_number


def numbers(api, **params) -> list[str]:
    response = api.get("/api/v1/sync-records", params)
    assert response.status_code == 200, response.content
    return sorted(row["document_number"] for row in response.json()["results"])


def test_list_and_filters(api, records, connection):
    assert numbers(api) == ["C-1", "F-1", "P-1"]
    assert numbers(api, status="failed") == ["F-1"]
    assert numbers(api, status="complete") == ["C-1"]
    assert numbers(api, status="pending") == ["P-1"]
    assert numbers(api, entry_type="bill", connection=connection.pk) == ["C-1", "F-1", "P-1"]
    assert numbers(api, entry_type="bill_payment") == []
    assert numbers(api, document=records["F-1"].document_id) == ["F-1"]
    today = timezone.localdate()
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    # Pending ignores the dates, as on the history page.
    assert numbers(api, status="pending", date_from=tomorrow) == ["P-1"]
    assert numbers(api, status="failed", date_from=tomorrow) == []
    assert numbers(api, date_from=tomorrow) == ["P-1"]
    assert numbers(api, date_to=today.isoformat()) == ["C-1", "F-1", "P-1"]

    failed = api.get("/api/v1/sync-records", {"status": "failed"}).json()["results"][0]
    assert (failed["status"], failed["status_value"], failed["last_error"]["status_code"]) == (
        "failed",
        2,
        4000,
    )
    assert "Mappings" in failed["last_error"]["hint"]
    complete = api.get("/api/v1/sync-records", {"status": "complete"}).json()["results"][0]
    assert complete["external_id"] and complete["synced_amount"] == "100.00"
    assert complete["expected_amount"] == "100.00" and complete["last_error"] is None


def test_bad_filters_are_400(api, records, other_org):
    from integrations.models import Connection, Provider

    foreign = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    response = api.get(
        "/api/v1/sync-records",
        {"status": "broken", "entry_type": "x", "date_from": "z", "connection": foreign.pk},
    )
    assert response.status_code == 400
    assert set(error_fields(response)) == {"status", "entry_type", "date_from", "connection"}


def test_update_status_complete_after_a_manual_reconcile(api, records):
    failed = records["F-1"]
    response = api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [failed.pk], "status": "complete", "note": "Typed into Xero by hand"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 1}
    failed.refresh_from_db()
    assert failed.status == RecordStatus.COMPLETE
    change = SyncStatusChange.objects.get(record=failed)
    assert (change.from_status, change.to_status, change.note) == (
        RecordStatus.FAILED,
        RecordStatus.COMPLETE,
        "Typed into Xero by hand",
    )


def test_update_status_pending_pushes_again_and_notes_the_key(api, records):
    complete = records["C-1"]
    response = api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [complete.pk], "status": "pending"},
        format="json",
    )
    assert response.json() == {"updated": 1}
    complete.refresh_from_db()
    assert complete.status == RecordStatus.PENDING
    assert SyncStatusChange.objects.get(record=complete).note == "via the API (API key Partner ERP)"


def test_a_keys_update_reads_as_the_keys_on_the_history_page_and_in_its_push(
    api, records, drain, client, org
):
    failed = records["F-1"]
    api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [failed.pk], "status": "pending", "note": "Mapped Travel at last"},
        format="json",
    )
    drain()  # still unmapped: it fails again
    failed.refresh_from_db()
    assert failed.status == RecordStatus.FAILED
    (retried, _) = api.get(f"/api/v1/documents/{failed.document_id}/attempts").json()["results"]
    assert (retried["trigger"], retried["actor"]) == ("manual", "API key Partner ERP")
    client.force_login(MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC).user)
    row = text(client.get(reverse("synclog:history")))
    row = row[row.index(f'data-record-id="{failed.pk}"') :]
    assert "Set by API key Partner ERP on " in row[: row.index("</tr>")]
    assert "a removed user" not in row


def test_update_status_errors(api, records, other_api):
    only_failed = api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [records["C-1"].pk], "status": "complete"},
        format="json",
    )
    assert only_failed.status_code == 400
    assert "Only failed records" in error_fields(only_failed)["status"][0]
    bad = api.post(
        "/api/v1/sync-records/update-status", {"ids": [], "status": "done"}, format="json"
    )
    assert set(error_fields(bad)) == {"ids", "status"}
    # Another organisation's ids read as missing ones, and nothing changes.
    foreign = other_api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [records["F-1"].pk], "status": "complete"},
        format="json",
    )
    assert foreign.status_code == 400
    assert error_fields(foreign) == {"ids.0": [f"No sync record with id {records['F-1'].pk}."]}
    records["F-1"].refresh_from_db()
    assert records["F-1"].status == RecordStatus.FAILED
    assert other_api.get("/api/v1/sync-records").json()["results"] == []
    assert not SyncStatusChange.objects.exists()
