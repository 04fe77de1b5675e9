"""Reads of the API, each scoped to one organisation; another organisation's id is a 404.

Lists return querysets with what their serializers read already joined or prefetched, so a page
costs the same few queries whatever its size.
"""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from api.models import ExpenseDataset, ExpenseDatasetItem
from documents.models import Attachment, Category, Contact, Department, Document, Payment
from synclog.models import SyncAttempt, SyncRecord, SyncRun, SyncRunItem
from synclog.selectors import health as health_selectors

DOCUMENT_RELATED = ("contact", "category", "department")
SYNC_RECORD_RELATED = ("document", "payment", "connection")


def contact_list(*, org: Organization) -> QuerySet[Contact]:
    """The organisation's contacts (vendors and customers)."""
    return Contact.objects.for_org(org)


def contact_get(*, org: Organization, contact_id: int) -> Contact:
    """One contact of the organisation; another organisation's id is a 404."""
    return get_object_or_404(Contact.objects.for_org(org), pk=contact_id)


def category_list(*, org: Organization) -> QuerySet[Category]:
    """The organisation's categories (each booked to a ledger account by its code)."""
    return Category.objects.for_org(org)


def category_get(*, org: Organization, category_id: int) -> Category:
    """One category of the organisation; another organisation's id is a 404."""
    return get_object_or_404(Category.objects.for_org(org), pk=category_id)


def department_list(*, org: Organization) -> QuerySet[Department]:
    """The organisation's departments."""
    return Department.objects.for_org(org)


def department_get(*, org: Organization, department_id: int) -> Department:
    """One department of the organisation; another organisation's id is a 404."""
    return get_object_or_404(Department.objects.for_org(org), pk=department_id)


def document_list(*, org: Organization) -> QuerySet[Document]:
    """The organisation's documents with their contact, category, department and lines
    joined or prefetched: a page of any size costs the same few queries."""
    return Document.objects.for_org(org).select_related(*DOCUMENT_RELATED).prefetch_related("lines")


def document_get(*, org: Organization, document_id: int) -> Document:
    """One document with its lines, as the API shows it."""
    return get_object_or_404(document_list(org=org), pk=document_id)


def document_owned(*, org: Organization, document_id: int) -> Document:
    """The document whose attachments, payments or attempts are asked for (one plain query)."""
    return get_object_or_404(Document.objects.for_org(org), pk=document_id)


def attachment_list(*, document: Document) -> QuerySet[Attachment]:
    """The document's attachments (the document is the caller's, already scoped)."""
    return Attachment.objects.filter(org_id=document.org_id, document=document)


def payment_list(*, org: Organization, document: Document | None = None) -> QuerySet[Payment]:
    """The organisation's payments with their documents, or one document's."""
    payments = Payment.objects.for_org(org).select_related("document")
    if document is not None:
        payments = payments.filter(document=document)
    return payments


def document_attempts(*, document: Document) -> QuerySet[SyncAttempt]:
    """Everything pushed for the document (its entry and its payments), on every connection."""
    return SyncAttempt.objects.filter(
        org_id=document.org_id, record__document=document
    ).select_related("actor", "run", "record", "record__connection")


def sync_run_list(*, org: Organization) -> QuerySet[SyncRun]:
    """The organisation's syncs with their connections and the run each retried."""
    return SyncRun.objects.for_org(org).select_related("connection", "retry_of")


def sync_run_items(*, run: SyncRun) -> QuerySet[SyncRunItem]:
    """The run's items with the records, documents and dataset items the API shows."""
    return health_selectors.sync_run_items(run=run).select_related(
        "record", "record__document", "record__document__expense_dataset_item"
    )


def sync_run_item_get(*, run: SyncRun, item_id: int) -> SyncRunItem:
    """One item of the run; an id of another run (or organisation) is a 404."""
    return get_object_or_404(sync_run_items(run=run), pk=item_id)


def sync_record_list(*, org: Organization) -> QuerySet[SyncRecord]:
    """The organisation's sync records with their documents, payments and connections."""
    return SyncRecord.objects.for_org(org).select_related(*SYNC_RECORD_RELATED)


def dataset_list(*, org: Organization) -> QuerySet[ExpenseDataset]:
    """The organisation's expense datasets."""
    return ExpenseDataset.objects.for_org(org)


def dataset_get(*, org: Organization, public_id) -> ExpenseDataset:
    """One expense dataset of the organisation by its public id; another's is a 404."""
    return get_object_or_404(ExpenseDataset.objects.for_org(org), public_id=public_id)


def dataset_items(*, dataset: ExpenseDataset) -> list[ExpenseDatasetItem]:
    """The dataset's items with their documents and sync records, in three queries."""
    return list(
        ExpenseDatasetItem.objects.filter(dataset=dataset)
        .select_related("document")
        .prefetch_related(
            Prefetch(
                "document__sync_records",
                queryset=SyncRecord.objects.filter(payment__isnull=True).order_by("connection_id"),
            )
        )
    )
