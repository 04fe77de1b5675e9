"""Every read of documents and their parts, scoped to one organisation."""

from django.core.paginator import Page
from django.db.models import DateField, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from documents.filters import DocumentFilter
from documents.models import (
    Attachment,
    Category,
    Contact,
    ContactKind,
    Department,
    Document,
    Payment,
)
from synclog.selectors.document_state import DocumentSyncState
from syncsvc.paging import KeysetPage, NewestFirst, PageRequest, bounded_page


def document_filterset(*, org: Organization, filters: dict | None = None) -> DocumentFilter:
    """The filter set (form and results) over the organisation's documents."""
    queryset = Document.objects.for_org(org).select_related("contact", "category", "department")
    # Always bound: an empty query means "no filter", not "nothing to show".
    return DocumentFilter(filters or {}, queryset=queryset, org=org)


# The list's order for its pager (syncsvc.paging): newest issue date first, document_list_idx's.
NEWEST_ISSUED = NewestFirst.of_field("issue_date", DateField())
# Up to this many matching documents the list is counted and its pages numbered (80 pages). A
# sync status's count walks the organisation's documents beside that status's records until it
# has counted them: 38-70 ms to count 10,001 at 1,000,000 documents, the most of a page.
DOCUMENT_COUNT_LIMIT = 2_000


def document_page(
    *,
    filterset: DocumentFilter,
    asked: PageRequest,
    per_page: int,
) -> Page | KeysetPage:
    """The page `asked` of the filter's documents, newest issue date first, each with its sync
    status, in three queries: the count (up to DOCUMENT_COUNT_LIMIT + 1), the page's ids, and
    their rows.

    Up to DOCUMENT_COUNT_LIMIT matching documents the pages are numbered; past it they are not
    counted and go newest, newer (before a cursor), older (after one) and oldest, as Sync
    History's do (syncsvc.paging). Counted, the Failed filter's pager read every Failed record
    (338 ms p95 at 1,000,000 documents and 78,002 Failed records), and the In the ledger
    filter's tested every document."""
    page = bounded_page(
        filterset.results,
        order=NEWEST_ISSUED,
        asked=asked,
        per_page=per_page,
        count_limit=DOCUMENT_COUNT_LIMIT,
    )
    page.object_list = document_rows_with_sync_state(
        filterset=filterset, document_ids=page.object_list
    )
    return page


def document_rows_with_sync_state(
    *, filterset: DocumentFilter, document_ids: list[int]
) -> list[Document]:
    """A page's documents, in the page's order, with each one's sync status (`sync_state`, the
    list's column), read in one query for these documents alone. Annotated on the whole list,
    PostgreSQL planned the status tests for every document before the page's LIMIT (hashing
    every Failed record, then sorting every document): 1.8 s p95 at 1,000,000 documents
    (bench.pages). A document deleted between the two reads is left out."""
    rows = (
        filterset.queryset.filter(pk__in=document_ids)
        .annotate(sync_state=filterset.sync_states.expression())
        .in_bulk()
    )
    # Its words beside it: the column's template looked each one up among the filter's choices.
    for row in rows.values():
        row.sync_state_label = DocumentSyncState(row.sync_state).label if row.sync_state else ""
    return [rows[pk] for pk in document_ids if pk in rows]


def document_list(*, org: Organization, filters: dict | None = None) -> QuerySet[Document]:
    """The organisation's documents, filtered; an invalid filter matches nothing."""
    return document_filterset(org=org, filters=filters).results


def document_get(*, org: Organization, document_id: int) -> Document:
    """One document of the organisation; another organisation's id is a 404, like a missing one."""
    return get_object_or_404(
        Document.objects.for_org(org).select_related(
            "contact", "category", "department", "created_by", "approved_by"
        ),
        pk=document_id,
    )


def document_get_detail(*, org: Organization, document_id: int) -> Document:
    """One document of the organisation with its lines, payments and attachments read (three
    queries, whatever their number); another organisation's id is a 404."""
    document = document_get(org=org, document_id=document_id)
    # Materialise the parts the detail page shows in three queries, whatever their number.
    document.line_list = list(document.lines.select_related("category", "department"))
    document.payment_list = list(document.payments.select_related("created_by"))
    document.attachment_list = list(document.attachments.select_related("uploaded_by"))
    return document


def contact_list(*, org: Organization, kind: str | None = None) -> QuerySet[Contact]:
    """The organisation's contacts, or those of one kind (vendor or customer)."""
    queryset = Contact.objects.for_org(org)
    return queryset.filter(kind=kind) if kind else queryset


def contact_get(*, org: Organization, contact_id: int) -> Contact:
    """One contact of the organisation; another organisation's id is a 404."""
    return get_object_or_404(Contact.objects.for_org(org), pk=contact_id)


def vendor_list(*, org: Organization) -> QuerySet[Contact]:
    """The organisation's vendors."""
    return contact_list(org=org, kind=ContactKind.VENDOR)


def category_list(*, org: Organization) -> QuerySet[Category]:
    """The organisation's categories."""
    return Category.objects.for_org(org)


def department_list(*, org: Organization) -> QuerySet[Department]:
    """The organisation's departments."""
    return Department.objects.for_org(org)


def payment_get(*, org: Organization, payment_id: int) -> Payment:
    """One payment of the organisation, with its document; another organisation's is a 404."""
    return get_object_or_404(Payment.objects.for_org(org).select_related("document"), pk=payment_id)


def attachment_get(*, org: Organization, attachment_id: int) -> Attachment:
    """One attachment of the organisation; another organisation's id is a 404."""
    return get_object_or_404(Attachment.objects.for_org(org), pk=attachment_id)
