"""Documents: create with lines, read, list with filters, update, approve, void; attempts."""

import datetime
from decimal import Decimal

import pytest

from documents.models import Document, DocumentStatus
from synclog.models import RecordStatus, SyncRecord
from tests.api.conftest import error_fields
from tests.factories import ContactFactory, DocumentFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def bill_body(vendor, **overrides) -> dict:
    body = {
        "number": "INV-1042",
        "contact": vendor.pk,
        "issue_date": "2026-11-01",
        "due_date": "2026-11-30",
        "currency": "EUR",
        "total": "150.00",
        "lines": [
            {"description": "Paper", "quantity": "2", "unit_amount": "50.00"},
            {"description": "Toner", "unit_amount": "50.00"},
        ],
    }
    return {**body, **overrides}


def test_create_a_bill_with_lines(api, org, vendor, category):
    body = bill_body(vendor, category=category.pk, description="November supplies")
    response = api.post("/api/v1/documents", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["status"], data["total"], data["contact_name"]) == (
        "bill",
        "draft",
        "150.00",
        "Office Supplies Ltd",
    )
    assert [(line["description"], line["amount"]) for line in data["lines"]] == [
        ("Paper", "100.00"),
        ("Toner", "50.00"),
    ]
    document = Document.objects.get(pk=data["id"])
    assert document.org == org and document.created_by is None
    assert api.get(f"/api/v1/documents/{document.pk}").json() == data


def test_create_awaiting_approval(api, vendor):
    response = api.post(
        "/api/v1/documents", bill_body(vendor, status="awaiting_approval"), format="json"
    )
    assert response.json()["status"] == "awaiting_approval"


def test_validation_errors_carry_field_paths(api, vendor):
    body = bill_body(
        vendor,
        currency="EURO",
        lines=[
            {"description": "Paper", "unit_amount": "100.00"},
            {"description": "", "unit_amount": "abc"},
        ],
    )
    response = api.post("/api/v1/documents", body, format="json")
    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {"currency", "lines.1.description", "lines.1.unit_amount"}


def test_service_errors_keep_their_paths(api, vendor, org):
    # The serializer accepts these; the document service finds what is wrong with them.
    customer = ContactFactory(org=org, kind="customer", name="A customer")
    body = bill_body(vendor, contact=customer.pk, currency="XYZ", due_date="2026-10-01")
    response = api.post("/api/v1/documents", body, format="json")
    assert response.status_code == 400
    assert set(error_fields(response)) == {"contact", "currency", "due_date"}
    total = api.post(
        "/api/v1/documents",
        bill_body(vendor, lines=[{"description": "Paper", "unit_amount": "10.00"}]),
        format="json",
    )
    assert "add up to" in error_fields(total)["lines"][0]
    zero_quantity = api.post(
        "/api/v1/documents",
        bill_body(
            vendor,
            total="150.00",
            lines=[{"description": "Paper", "quantity": "0", "unit_amount": "150.00"}],
        ),
        format="json",
    )
    assert "lines.0.quantity" in error_fields(zero_quantity)


def test_another_organisations_contact_or_category_reads_as_missing(api, vendor, foreign):
    body = bill_body(vendor, contact=foreign["contact"].pk, category=foreign["category"].pk)
    fields = error_fields(api.post("/api/v1/documents", body, format="json"))
    assert "does not exist" in fields["contact"][0]
    assert "does not exist" in fields["category"][0]
    missing = error_fields(
        api.post("/api/v1/documents", bill_body(vendor, contact=999999), format="json")
    )
    assert missing["contact"][0].replace("999999", "X") == fields["contact"][0].replace(
        str(foreign["contact"].pk), "X"
    )
    assert not Document.objects.filter(org=vendor.org).exists()


def test_a_duplicate_number_is_refused(api, vendor):
    assert api.post("/api/v1/documents", bill_body(vendor), format="json").status_code == 201
    again = api.post("/api/v1/documents", bill_body(vendor), format="json")
    assert again.status_code == 400
    assert "number" in error_fields(again)


def test_list_with_filters(api, org, vendor):
    other_vendor = ContactFactory(org=org, name="Other vendor")
    DocumentFactory(
        org=org,
        contact=vendor,
        number="A-1",
        issue_date=datetime.date(2026, 10, 1),
        due_date=datetime.date(2026, 10, 30),
    )
    DocumentFactory(org=org, contact=vendor, number="A-2", status=DocumentStatus.APPROVED)
    DocumentFactory(org=org, contact=other_vendor, number="B-1", kind="expense")

    def numbers(**params):
        response = api.get("/api/v1/documents", params)
        assert response.status_code == 200, response.content
        return sorted(row["number"] for row in response.json()["results"])

    assert numbers() == ["A-1", "A-2", "B-1"]
    assert numbers(kind="expense") == ["B-1"]
    assert numbers(status="approved") == ["A-2"]
    assert numbers(contact=other_vendor.pk) == ["B-1"]
    assert numbers(issued_from="2026-10-15") == ["A-2", "B-1"]
    assert numbers(issued_to="2026-10-15") == ["A-1"]
    assert numbers(q="a-") == ["A-1", "A-2"]


def test_invalid_filters_are_400(api, foreign):
    response = api.get("/api/v1/documents", {"status": "lost", "issued_from": "yesterday"})
    assert response.status_code == 400
    assert set(error_fields(response)) == {"status", "issued_from"}
    # Another organisation's contact is not a valid choice either.
    assert api.get("/api/v1/documents", {"contact": foreign["contact"].pk}).status_code == 400


def test_update_changes_only_what_is_sent(api, bill):
    response = api.patch(
        f"/api/v1/documents/{bill.pk}",
        {"due_date": "2026-12-20", "description": "Due later"},
        format="json",
    )
    assert response.status_code == 200, response.content
    bill.refresh_from_db()
    assert bill.due_date == datetime.date(2026, 12, 20)
    assert bill.description == "Due later"
    assert bill.number.startswith("INV-")


def test_update_replaces_lines_and_checks_them(api, bill):
    response = api.patch(
        f"/api/v1/documents/{bill.pk}",
        {"total": "30.00", "lines": [{"description": "A", "quantity": "3", "unit_amount": "10"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [line["amount"] for line in response.json()["lines"]] == ["30.00"]
    wrong = api.patch(f"/api/v1/documents/{bill.pk}", {"total": "31.00"}, format="json")
    assert wrong.status_code == 400
    assert "lines" in error_fields(wrong)
    bill.refresh_from_db()
    assert bill.total == Decimal("30.00")


def test_a_void_document_cannot_be_edited(api, bill):
    bill.status = DocumentStatus.VOID
    bill.save()
    response = api.patch(f"/api/v1/documents/{bill.pk}", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "A void document cannot be edited."
    assert error_fields(response) == {}


def test_approve_starts_the_sync(api, bill, connection):
    response = api.post(f"/api/v1/documents/{bill.pk}/approve")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    record = SyncRecord.objects.get(document=bill)
    assert (record.status, record.pending_reason) == (RecordStatus.PENDING, "approved")


def test_approve_submits_a_draft_first(api, vendor):
    created = api.post("/api/v1/documents", bill_body(vendor), format="json").json()
    assert created["status"] == "draft"
    approved = api.post(f"/api/v1/documents/{created['id']}/approve")
    assert approved.json()["status"] == "approved"
    again = api.post(f"/api/v1/documents/{created['id']}/approve")
    assert again.status_code == 400
    assert "approved" in again.json()["error"]["message"]


def test_void(api, bill):
    response = api.post(f"/api/v1/documents/{bill.pk}/void")
    assert response.status_code == 200
    assert response.json()["status"] == "void"
    assert api.post(f"/api/v1/documents/{bill.pk}/void").status_code == 400


def test_another_organisations_document_is_404_and_unchanged(api, foreign):
    document = foreign["document"]
    base = f"/api/v1/documents/{document.pk}"
    assert_not_found_for_other_tenant(api, "get", base)
    for url in (f"{base}/approve", f"{base}/void"):
        assert_not_found_for_other_tenant(api, "post", url)
    response = api.patch(base, {"description": "mine now"}, format="json")
    assert response.status_code == 404
    for url in (f"{base}/attempts", f"{base}/attachments", f"{base}/payments"):
        assert_not_found_for_other_tenant(api, "get", url)
    document.refresh_from_db()
    assert (document.status, document.description) == (DocumentStatus.AWAITING_APPROVAL, "")


def test_documents_need_a_key(anonymous, bill):
    assert anonymous.get("/api/v1/documents").status_code == 401
    assert anonymous.get(f"/api/v1/documents/{bill.pk}").status_code == 401
    assert anonymous.post(f"/api/v1/documents/{bill.pk}/approve").status_code == 401
    assert anonymous.patch(f"/api/v1/documents/{bill.pk}", {}, format="json").status_code == 401
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.AWAITING_APPROVAL


def test_document_attempts_list_the_integration_log(api, bill, connection, drain):
    api.post(f"/api/v1/documents/{bill.pk}/approve")
    drain()
    response = api.get(f"/api/v1/documents/{bill.pk}/attempts")
    assert response.status_code == 200
    (attempt,) = response.json()["results"]
    assert (attempt["operation"], attempt["outcome"], attempt["status_code"]) == (
        "create",
        "success",
        2000,
    )
    assert (attempt["reason"], attempt["entry_type"], attempt["connection"]) == (
        "approved",
        "bill",
        connection.pk,
    )
    assert (
        api.get(f"/api/v1/documents/{bill.pk}/attempts", {"outcome": "failed"}).json()["results"]
        == []
    )


def test_document_attempts_take_the_event_logs_filters(api, bill, connection, drain):
    """The API's attempts list and the event log share one FilterSet (synclog.filters)."""
    api.post(f"/api/v1/documents/{bill.pk}/approve")
    drain()
    url = f"/api/v1/documents/{bill.pk}/attempts"

    def codes(params):
        response = api.get(url, params)
        assert response.status_code == 200, response.json()
        return [attempt["status_code"] for attempt in response.json()["results"]]

    assert codes({"status_code": 2000, "entry_type": "bill"}) == [2000]
    assert codes({"status_code": 5000}) == []
    assert codes({"entry_type": "bill_payment"}) == []
    assert codes({"date_to": "2000-01-01"}) == []
    assert codes({"q": bill.number}) == [2000]
    assert codes({"q": bill.number + "-none"}) == []
    assert api.get(url, {"status_code": "nope"}).status_code == 400
