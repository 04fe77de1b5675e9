from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Attachment, DocumentStatus
from documents.services import attachment_add
from tests.documents.services.helpers import document_state, row_counts

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def assert_refused(document, upload, media_root: Path) -> ValidationError:
    state = document_state(document)
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        attachment_add(document=document, actor=None, upload=upload)
    assert document_state(document) == state
    assert row_counts() == counts
    assert stored_files(media_root) == []
    return excinfo.value


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("invoice.pdf", PDF, "application/pdf"),
        ("receipt.png", PNG, "image/png"),
        ("receipt.jpg", JPEG, "image/jpeg"),
        ("scan", PDF, "application/pdf"),  # the bytes decide, not the name
        ("photo.pdf", JPEG, "image/jpeg"),
    ],
)
def test_attachment_add(bill, clerk, media_root, name, content, content_type):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")

    attachment = attachment_add(document=bill, actor=clerk, upload=upload)

    attachment.refresh_from_db()
    assert attachment.org == bill.org
    assert attachment.document_id == bill.id
    assert attachment.filename == name
    assert attachment.content_type == content_type
    assert attachment.size == len(content)
    assert attachment.uploaded_by == clerk
    path = Path(attachment.file.path)
    assert path.is_relative_to(media_root / "attachments" / str(bill.org_id) / str(bill.id))
    assert path.read_bytes() == content
    assert Attachment.objects.filter(document=bill).count() == 1


def test_attachment_add_keeps_only_the_base_name(bill, clerk, media_root):
    upload = SimpleUploadedFile("../../../etc/invoice.pdf", PDF)

    attachment = attachment_add(document=bill, actor=clerk, upload=upload)

    assert attachment.filename == "invoice.pdf"
    assert Path(attachment.file.path).is_relative_to(media_root)


def test_attachment_add_several_files(bill, clerk, media_root):
    attachment_add(document=bill, actor=clerk, upload=SimpleUploadedFile("a.pdf", PDF))
    attachment_add(document=bill, actor=clerk, upload=SimpleUploadedFile("b.png", PNG))

    assert list(Attachment.objects.filter(document=bill).values_list("filename", flat=True)) == [
        "a.pdf",
        "b.png",
    ]
    assert len(stored_files(media_root)) == 2


@pytest.mark.parametrize("status", [s for s in DocumentStatus if s != DocumentStatus.VOID])
def test_attachment_add_to_any_status_but_void(make_document, clerk, status):
    document = make_document(status=status)

    attachment = attachment_add(
        document=document, actor=clerk, upload=SimpleUploadedFile("a.pdf", PDF)
    )

    assert attachment.document_id == document.id


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("invoice.pdf", b"hello, this is not a PDF", "application/pdf"),
        ("invoice.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00", "application/pdf"),
        ("invoice.pdf", b" %PDF-1.7", "application/pdf"),  # magic not at the start
        ("image.png", b"GIF89a\x01\x00\x01\x00", "image/png"),
        ("image.jpg", b"\xff\xd8", "image/jpeg"),  # too short to be JPEG
        ("empty.pdf", b"", "application/pdf"),
    ],
)
def test_attachment_add_refuses_other_content(bill, clerk, media_root, name, content, content_type):
    upload = SimpleUploadedFile(name, content, content_type=content_type)

    error = assert_refused(bill, upload, media_root)

    assert error.message_dict == {"file": ["Attach a PDF, PNG or JPEG file."]}


def test_attachment_add_refuses_too_large(bill, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 64
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * (65 - len(PDF)))
    assert upload.size == 65

    error = assert_refused(bill, upload, media_root)

    assert set(error.message_dict) == {"file"}
    assert "larger than" in error.message_dict["file"][0]


def test_attachment_add_accepts_exactly_the_limit(bill, clerk, settings):
    settings.ATTACHMENT_MAX_BYTES = 64
    upload = SimpleUploadedFile("limit.pdf", PDF + b"0" * (64 - len(PDF)))

    attachment = attachment_add(document=bill, actor=clerk, upload=upload)

    assert attachment.size == 64


def test_attachment_add_reports_the_limit_in_megabytes(bill, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * (2 * 1024 * 1024))

    error = assert_refused(bill, upload, media_root)

    assert error.message_dict == {"file": ["The file is larger than 2.0\xa0MB."]}


def test_attachment_add_refuses_void_document(make_document, media_root):
    document = make_document(status=DocumentStatus.VOID)

    error = assert_refused(document, SimpleUploadedFile("a.pdf", PDF), media_root)

    assert error.messages == ["Files cannot be attached to a void document."]
