"""Every write to documents, contacts, categories, departments, attachments and payments.

Services take the organisation (or an object that carries it) and the acting user explicitly, check
everything before writing, and write in one transaction: bad input raises ValidationError keyed by
field and leaves the database as it was.

    documents    document_create, document_update, document_submit / approve / void,
                 documents_create_approved (many at once)
    payments     payment_record, document_mark_paid
    attachments  attachment_add
    reference    contact_create, category_create, department_create
"""

from documents.services.attachments import attachment_add
from documents.services.documents import (
    CREATE_ONLY_FIELDS,
    EDITABLE_FIELDS,
    EDITABLE_LINE_FIELDS,
    DocumentUpdateResult,
    document_approve,
    document_create,
    document_submit,
    document_update,
    document_void,
    documents_create_approved,
)
from documents.services.payments import document_mark_paid, payment_record
from documents.services.reference import category_create, contact_create, department_create

__all__ = [
    "CREATE_ONLY_FIELDS",
    "EDITABLE_FIELDS",
    "EDITABLE_LINE_FIELDS",
    "DocumentUpdateResult",
    "attachment_add",
    "category_create",
    "contact_create",
    "department_create",
    "document_approve",
    "document_create",
    "document_mark_paid",
    "document_submit",
    "document_update",
    "document_void",
    "documents_create_approved",
    "payment_record",
]
