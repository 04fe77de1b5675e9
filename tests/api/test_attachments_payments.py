"""A document's attachments (type and size checked) and payments."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Attachment, DocumentStatus, Payment
from tests.api.conftest import error_fields
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(name="receipt.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_attach_a_pdf_and_list_it(api, bill):
    url = f"/api/v1/documents/{bill.pk}/attachments"
    response = api.post(url, {"file": upload()}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["filename"], body["content_type"], body["size"]) == (
        "receipt.pdf",
        "application/pdf",
        len(PDF),
    )
    assert Attachment.objects.get(pk=body["id"]).document == bill
    listed = api.get(url).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]


def test_the_type_is_read_from_the_bytes(api, bill):
    url = f"/api/v1/documents/{bill.pk}/attachments"
    disguised = upload(name="receipt.pdf", content=b"MZ\x90\x00 not a pdf")
    response = api.post(url, {"file": disguised}, format="multipart")
    assert response.status_code == 400
    assert error_fields(response) == {"file": ["Attach a PDF, PNG or JPEG file."]}
    assert not Attachment.objects.exists()


def test_a_file_over_the_limit_is_refused(api, bill, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    response = api.post(
        f"/api/v1/documents/{bill.pk}/attachments", {"file": upload()}, format="multipart"
    )
    assert response.status_code == 400
    assert "larger than" in error_fields(response)["file"][0]


def test_no_file_and_json_bodies_are_refused(api, bill):
    url = f"/api/v1/documents/{bill.pk}/attachments"
    missing = api.post(url, {}, format="multipart")
    assert missing.status_code == 400
    assert "file" in error_fields(missing)
    as_json = api.post(url, {"file": "x"}, format="json")
    assert as_json.status_code == 415
    assert as_json.json()["error"]["code"] == "unsupported_media_type"


def test_record_payments_until_paid(api, org, vendor):
    document = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.APPROVED)
    url = f"/api/v1/documents/{document.pk}/payments"
    first = api.post(url, {"amount": "40.00", "paid_at": "2026-11-05"}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["amount"] == "40.00"
    api.post(url, {"amount": "60.00", "paid_at": "2026-11-06", "reference": "TR-2"}, format="json")
    document.refresh_from_db()
    assert document.status == DocumentStatus.PAID
    assert [row["amount"] for row in api.get(url).json()["results"]] == ["60.00", "40.00"]
    assert (
        api.get("/api/v1/payments", {"document": document.pk}).json()["results"][0]["reference"]
        == "TR-2"
    )
    assert (
        api.get("/api/v1/payments", {"paid_from": "2026-11-06"}).json()["results"][0]["amount"]
        == "60.00"
    )


def test_payment_errors(api, org, vendor, bill):
    not_approved = api.post(
        f"/api/v1/documents/{bill.pk}/payments",
        {"amount": "10.00", "paid_at": "2026-11-05"},
        format="json",
    )
    assert not_approved.status_code == 400
    assert "approved documents only" in not_approved.json()["error"]["message"]

    document = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.APPROVED)
    url = f"/api/v1/documents/{document.pk}/payments"
    too_much = api.post(url, {"amount": "500.00", "paid_at": "2026-10-01"}, format="json")
    assert set(error_fields(too_much)) == {"amount", "paid_at"}
    bad = api.post(url, {"amount": "-1", "paid_at": "soon"}, format="json")
    assert set(error_fields(bad)) == {"amount", "paid_at"}
    assert not Payment.objects.exists()


def test_payments_of_another_organisation(api, other_api, org, vendor):
    document = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.APPROVED)
    api.post(
        f"/api/v1/documents/{document.pk}/payments",
        {"amount": "10.00", "paid_at": datetime.date(2026, 11, 5).isoformat()},
        format="json",
    )
    assert other_api.get("/api/v1/payments").json()["results"] == []
    response = other_api.post(
        f"/api/v1/documents/{document.pk}/payments",
        {"amount": "10.00", "paid_at": "2026-11-05"},
        format="json",
    )
    assert response.status_code == 404
    upload_response = other_api.post(
        f"/api/v1/documents/{document.pk}/attachments", {"file": upload()}, format="multipart"
    )
    assert upload_response.status_code == 404
    assert Payment.objects.count() == 1
    assert not Attachment.objects.exists()
