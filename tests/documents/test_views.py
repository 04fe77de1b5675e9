import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents.models import Document, DocumentKind, DocumentLine, DocumentStatus, Payment
from synclog.models import RecordStatus
from tests.factories import (
    ConnectionFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    SyncRecordFactory,
)

TODAY = datetime.date(2026, 11, 5)


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def _form_data(vendor, **overrides):
    data = {
        "kind": "bill",
        "number": "B-100",
        "contact": vendor.pk,
        "issue_date": "2026-11-01",
        "due_date": "2026-11-30",
        "currency": "EUR",
        "total": "150.00",
        "description": "",
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-0-description": "Paper",
        "form-0-quantity": "2",
        "form-0-unit_amount": "50.00",
        "form-1-description": "Toner",
        "form-1-quantity": "1",
        "form-1-unit_amount": "50.00",
    }
    data.update(overrides)
    return data


def _list_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("documents:list"), params)
    assert response.status_code == 200
    return len(captured)


def test_list_query_count_does_not_grow_with_rows(clerk_client, org):
    vendors = [ContactFactory(org=org) for _ in range(5)]
    department = DepartmentFactory(org=org)
    for index in range(10):
        DocumentFactory(org=org, contact=vendors[index % 5], department=department)
    queries_for_10 = _list_queries(clerk_client)
    for index in range(190):
        DocumentFactory(org=org, contact=vendors[index % 5], department=department)
    assert Document.objects.count() == 200
    assert _list_queries(clerk_client) == queries_for_10
    assert _list_queries(clerk_client, page=8) == queries_for_10


def test_list_filters(clerk_client, org, vendor):
    other_vendor = ContactFactory(org=org, name="Zed Corp")
    paid = DocumentFactory(org=org, contact=vendor, number="P-1", status=DocumentStatus.PAID)
    draft = DocumentFactory(
        org=org,
        contact=other_vendor,
        number="D-1",
        status=DocumentStatus.DRAFT,
        issue_date=datetime.date(2026, 10, 1),
        due_date=datetime.date(2026, 10, 31),
    )
    invoice_customer = ContactFactory(org=org, kind="customer")
    invoice = DocumentFactory(
        org=org, contact=invoice_customer, number="S-1", kind=DocumentKind.INVOICE
    )

    def numbers(**params):
        response = clerk_client.get(reverse("documents:list"), params)
        return sorted(document.number for document in response.context["page"])

    assert numbers() == ["D-1", "P-1", "S-1"]
    assert numbers(status="paid") == [paid.number]
    assert numbers(kind="invoice") == [invoice.number]
    assert numbers(contact=other_vendor.pk) == [draft.number]
    assert numbers(q="p-") == [paid.number]
    assert numbers(issued_from="2026-10-15") == ["P-1", "S-1"]
    assert numbers(issued_to="2026-10-15") == ["D-1"]
    assert numbers(status="nonsense") == []


def test_list_htmx_request_renders_only_the_results(clerk_client, bill):
    response = clerk_client.get(
        reverse("documents:list"),
        {"status": "awaiting_approval"},
        headers={"HX-Request": "true", "HX-Target": "document-results"},
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert bill.number.encode() in response.content


def test_list_paginates(clerk_client, org, vendor):
    for _ in range(30):
        DocumentFactory(org=org, contact=vendor)
    first = clerk_client.get(reverse("documents:list"))
    second = clerk_client.get(reverse("documents:list"), {"page": 2})
    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5
    assert b"Page 1 of 2" in first.content


def test_create_document(clerk_client, vendor):
    response = clerk_client.post(reverse("documents:create"), _form_data(vendor))
    document = Document.objects.get(number="B-100")
    assert response.status_code == 302
    assert response.url == reverse("documents:detail", args=[document.pk])
    assert document.status == DocumentStatus.DRAFT
    assert document.total == Decimal("150.00")
    assert [line.amount for line in document.lines.all()] == [Decimal("100.00"), Decimal("50.00")]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"total": "-5"}, "total", "must not be negative"),
        ({"total": "abc"}, "total", "Enter a number"),
        ({"currency": "XYZ"}, "currency", "ISO 4217"),
        ({"due_date": "2026-10-01"}, "due_date", "before the issue date"),
        ({"total": "151.00"}, None, "not the total 151.00"),
        ({"form-1-unit_amount": "-50"}, None, "must not be negative"),
    ],
)
def test_create_shows_errors_and_writes_nothing(clerk_client, vendor, overrides, field, message):
    response = clerk_client.post(reverse("documents:create"), _form_data(vendor, **overrides))
    assert response.status_code == 400
    if field:
        assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert Document.objects.count() == 0
    assert DocumentLine.objects.count() == 0


def test_edit_reports_changed_fields(clerk_client, bill):
    data = _form_data(
        bill.contact,
        number=bill.number,
        total="100.00",
        due_date="2026-12-15",
        category=bill.category_id,
        **{
            "form-TOTAL_FORMS": "1",
            "form-0-description": "Services",
            "form-0-quantity": "1",
            "form-0-unit_amount": "100.00",
        },
    )
    del data["kind"]
    response = clerk_client.post(reverse("documents:edit", args=[bill.pk]), data, follow=True)
    assert "due date changed" in response.content.decode()
    bill.refresh_from_db()
    assert bill.due_date == datetime.date(2026, 12, 15)


def test_edit_void_document_is_refused(clerk_client, org, vendor):
    document = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.VOID)
    data = _form_data(vendor, number=document.number, total="100.00")
    response = clerk_client.post(reverse("documents:edit", args=[document.pk]), data)
    assert response.status_code == 400
    assert "void document cannot be edited" in response.content.decode()


def test_approve_then_pay_in_two_parts(clerk_client, bill):
    clerk_client.post(reverse("documents:approve", args=[bill.pk]))
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.APPROVED

    url = reverse("documents:pay", args=[bill.pk])
    assert clerk_client.post(url, {"amount": "40.00", "paid_at": "2026-11-10"}).status_code == 302
    too_much = clerk_client.post(url, {"amount": "60.01", "paid_at": "2026-11-11"})
    assert too_much.status_code == 400
    assert "more than the 60.00 EUR still due" in too_much.content.decode()
    assert clerk_client.post(url, {"amount": "60.00", "paid_at": "2026-11-11"}).status_code == 302
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.PAID
    assert Payment.objects.filter(document=bill).count() == 2


def test_refused_transition_shows_a_message(clerk_client, org, vendor):
    draft = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.DRAFT)
    response = clerk_client.post(reverse("documents:approve", args=[draft.pk]), follow=True)
    assert "Only a document awaiting approval can be approved" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == DocumentStatus.DRAFT


def test_detail_shows_lines_payments_and_attachments(clerk_client, bill, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    clerk_client.post(
        reverse("documents:attachment-upload", args=[bill.pk]),
        {"file": SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 hello", "application/pdf")},
    )
    bad = clerk_client.post(
        reverse("documents:attachment-upload", args=[bill.pk]),
        {"file": SimpleUploadedFile("evil.pdf", b"MZ not a pdf", "application/pdf")},
        follow=True,
    )
    assert "Attach a PDF, PNG or JPEG file." in bad.content.decode()
    with CaptureQueriesContext(connection) as captured:
        response = clerk_client.get(reverse("documents:detail", args=[bill.pk]))
    page = response.content.decode()
    assert "Services" in page
    assert "receipt.pdf" in page
    assert "No payments yet." in page
    assert len(captured) <= 10
    attachment = bill.attachments.get()
    download = clerk_client.get(reverse("documents:attachment-download", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 hello"


def test_a_line_without_a_category_shows_the_documents_it_is_booked_to(clerk_client, bill):
    """As the push books it (integrations/payloads.py): the line's own category, else the
    document's. The page showed "—" while the department beside it fell back already."""
    page = clerk_client.get(reverse("documents:detail", args=[bill.pk])).content.decode()
    row = re.search(r"<tr><td>Services</td><td>(.*?)</td>", page)
    assert row and row.group(1) == str(bill.category)


@pytest.mark.parametrize(
    ("paid", "says", "asks"),
    [
        ("40.00", "holds this bill with 40.00 EUR paid against it", "with a payment against it"),
        ("150.00", "holds this bill as paid", "holds this bill as paid"),
    ],
)
def test_the_edit_page_of_a_booked_bill_says_how_much_is_paid_there(
    clerk_client, org, vendor, paid, says, asks
):
    """A partly paid bill is booked in the ledger all the same; "as paid" read as settled."""
    document = DocumentFactory(
        org=org, contact=vendor, status=DocumentStatus.APPROVED, total=Decimal("150.00")
    )
    Payment.objects.create(org=org, document=document, amount=Decimal(paid), paid_at=TODAY)
    document.amount_paid = Decimal(paid)
    document.save(update_fields=["amount_paid"])
    SyncRecordFactory(
        connection=ConnectionFactory(org=org, name="Xero"),
        document=document,
        status=RecordStatus.COMPLETE,
        external_id="INV-1",
        booked=True,
    )
    page = clerk_client.get(reverse("documents:edit", args=[document.pk])).content.decode()
    assert f"Xero {says}" in page
    confirm = re.search(r'data-confirm="([^"]*)"', page)
    assert confirm and asks in confirm.group(1)


def test_the_edit_page_shows_a_line_quantity_as_written_not_with_four_decimal_places(
    clerk_client, bill
):
    bill.lines.all().delete()
    DocumentLine.objects.create(
        document=bill,
        description="Desks",
        quantity=Decimal("10"),
        unit_amount=Decimal("5"),
        amount=Decimal("50"),
    )
    DocumentLine.objects.create(
        document=bill,
        description="Chairs",
        quantity=Decimal("2.5"),
        unit_amount=Decimal("4"),
        amount=Decimal("10"),
    )
    page = clerk_client.get(reverse("documents:edit", args=[bill.pk])).content.decode()
    quantities = re.findall(r'name="form-\d+-quantity"[^>]*value="([^"]*)"', page)
    assert quantities[:2] == ["10", "2.5"]
