"""Files attached to documents (PDF, PNG, JPEG, judged by their bytes) and sent to the ledger."""

from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from documents.models import Attachment, Document, DocumentStatus
from documents.services.documents import _lock
from synclog.services import request_sync


@transaction.atomic
def attachment_add(
    *, document: Document, actor, upload: UploadedFile, actor_label: str = ""
) -> Attachment:
    """A PDF, PNG or JPEG (judged by its bytes, within ATTACHMENT_MAX_BYTES) attached to a
    document that is not void, and its upload to the ledger requested; ValidationError otherwise."""
    document = _lock(document)
    if document.status == DocumentStatus.VOID:
        raise ValidationError("Files cannot be attached to a void document.")
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
        raise ValidationError({"file": f"The file is larger than {limit}."})
    content_type = _sniff_content_type(upload)
    if content_type is None:
        raise ValidationError({"file": "Attach a PDF, PNG or JPEG file."})
    filename = PurePath(upload.name or "attachment").name[:200]
    attachment = Attachment(
        org=document.org,
        document=document,
        filename=filename,
        content_type=content_type,
        size=upload.size,
        uploaded_by=actor,
    )
    attachment.file.save(filename, upload, save=False)
    attachment.save()
    request_sync(document=document, reason="attachment added", actor=actor, actor_label=actor_label)
    return attachment


MAGIC_NUMBERS = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def _sniff_content_type(upload: UploadedFile) -> str | None:
    # Trust the bytes, not the name or the browser's claim.
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type in MAGIC_NUMBERS.items():
        if head.startswith(magic):
            return content_type
    return None
