"""POST /syncs/preview (issue 17, item 1): what `POST /syncs` with the same body would change,
entry by entry and field by field, read from the ledger (the in-process Xero emulator); it starts
nothing; another organisation's ids are refused as `POST /syncs` refuses them."""

import datetime

import pytest

from documents import services as document_services
from synclog.models import SyncRecord, SyncRun
from tests.api.test_syncs import approved  # noqa: F401 (three approved bills)
from tests.factories import CategoryFactory, DocumentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/syncs/preview"


def test_a_preview_shows_each_entrys_action_and_the_fields_that_change(
    api,
    approved,  # noqa: F811
    ledger,
    connection,
    org,
    vendor,
):
    record = SyncRecord.objects.get(document=approved[0])
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    document_services.document_update(
        document=approved[1], actor=None, data={"due_date": datetime.date(2026, 12, 24)}
    )
    travel = CategoryFactory(org=org, name="Travel", code="999")
    unmapped = DocumentFactory(org=org, contact=vendor, category=travel, number="T-1")
    document_services.document_approve(document=unmapped, actor=None)
    writes = len(ledger.writes())

    response = api.post(
        URL, {"document_ids": [d.pk for d in approved] + [unmapped.pk]}, format="json"
    )

    assert response.status_code == 200, response.content
    (preview,) = response.json()["previews"]
    assert preview["connection"]["id"] == connection.pk
    assert (preview["documents_previewed"], preview["documents_not_previewed"]) == (4, 0)
    assert preview["ledger_error"] is None
    assert preview["counts"] == {
        "create": 0,
        "update": 1,
        "unchanged": 2,
        "refused": 0,
        "cannot": 1,
        "unread": 0,
        "waits": 0,
        "held": 0,
    }
    entries = {entry["document_number"]: entry for entry in preview["entries"]}
    assert entries["B-1"]["action"] == "update"
    assert entries["B-1"]["changes"] == [
        {"field": "due date", "ledger": approved[1].due_date.isoformat(), "document": "2026-12-24"}
    ]
    # Unchanged since its push, so a sync sends nothing; the ledger's change is shown and named.
    assert entries["B-0"]["action"] == "unchanged"
    assert entries["B-0"]["changes"][0]["ledger"] == "2027-03-31"
    assert entries["T-1"]["action"] == "cannot"
    assert "Category Travel" in entries["T-1"]["reason"]
    assert len(ledger.writes()) == writes
    assert not SyncRun.objects.exists()


def test_a_ledger_that_fails_is_named_and_what_needs_no_read_is_still_shown(
    api,
    approved,  # noqa: F811
    ledger,
    org,
    vendor,
    category,
):
    fresh = DocumentFactory(org=org, contact=vendor, category=category, number="NEW-1")
    document_services.document_approve(document=fresh, actor=None)
    ledger.set_faults(fail_next={"count": 5, "status": 503})
    response = api.post(URL, {"document_ids": [approved[0].pk, fresh.pk]}, format="json")
    assert response.status_code == 200
    (preview,) = response.json()["previews"]
    assert preview["ledger_error"]["status_code"] == 5000
    actions = {entry["document_number"]: entry["action"] for entry in preview["entries"]}
    # Unchanged since its push (no read needed), and a create (nothing to read).
    assert actions == {"B-0": "unchanged", "NEW-1": "create"}


def test_another_organisations_documents_are_refused_by_id(api, approved, other_org):  # noqa: F811
    theirs = DocumentFactory(org=other_org, status="approved")
    response = api.post(URL, {"document_ids": [approved[0].pk, theirs.pk]}, format="json")
    assert response.status_code == 400
    assert f"No document with id {theirs.pk}." in response.content.decode()
    assert "previews" not in response.json()


def test_the_other_organisations_key_sees_nothing_of_ours(other_api, approved):  # noqa: F811
    response = other_api.post(URL, {"document_ids": [approved[0].pk]}, format="json")
    assert response.status_code == 400
    assert "B-0" not in response.content.decode()
