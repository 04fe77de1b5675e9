"""Reads of the Accounting Sync History page: records by tab and filter, scoped to one org."""

from django.core.paginator import Page
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from accounts.models import Organization
from synclog.filters import SyncHistoryFilter
from synclog.models import SYNC_DATE, RecordStatus, SyncRecord, SyncStatusChange
from syncsvc.paging import KeysetPage, NewestFirst, PageRequest, bounded_page


def sync_history_queryset(*, org: Organization):
    """The organisation's records with what a history row shows, newest sync date first.

    `amount` is what our side says (the document's total, or the payment's amount on payment
    rows); `amounts_differ` flags a synced amount that is not it; `sync_date` is the date the
    filter uses (see SyncHistoryFilter).
    """
    return (
        SyncRecord.objects.for_org(org)
        .select_related("document__contact", "payment", "connection")
        .annotate(
            amount=Coalesce(
                F("payment__amount"),
                F("document__total"),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
            sync_date=SYNC_DATE,
        )
        .annotate(
            amounts_differ=ExpressionWrapper(
                Q(synced_amount__isnull=False) & ~Q(synced_amount=F("amount")),
                output_field=BooleanField(),
            )
        )
        .order_by("-sync_date", "-id")
    )


def sync_history_filterset(*, org: Organization, filters=None) -> SyncHistoryFilter:
    """The filter set (form and results) of the history page; the defaults fill what is missing."""
    return SyncHistoryFilter(filters, queryset=sync_history_queryset(org=org), org=org)


# The history's order for its pager (syncsvc.paging): the sync date, newest first, on the
# expression syncrecord_history_idx is built on.
NEWEST_SYNC_DATE = NewestFirst("sync_date", SYNC_DATE, DateTimeField())


def sync_history_page(
    *,
    org: Organization,
    filterset: SyncHistoryFilter,
    asked: PageRequest,
    per_page: int,
) -> Page | KeysetPage:
    """The page `asked` of the filter's records, newest sync date first, in three queries.

    The count (up to COUNT_LIMIT + 1) and the page's ids come from the records alone, in the
    order of the history index (syncrecord_history_idx), so neither joins nor sorts every
    matching record. Only the page's records are then read with what a row shows. An invalid
    filter (shown on the form) matches nothing.

    Up to COUNT_LIMIT matching records: a numbered page. More: a KeysetPage, the newest (no
    cursor), the one after a cursor (older), before one (newer) or the oldest; each reads one
    page of the index from its cursor, whatever its depth (syncsvc.paging).
    """
    if filterset.is_valid():
        records = filterset.filter_queryset(SyncRecord.objects.for_org(org))
    else:
        records = SyncRecord.objects.none()
    page = bounded_page(
        records.annotate(sync_date=SYNC_DATE),
        order=NEWEST_SYNC_DATE,
        asked=asked,
        per_page=per_page,
    )
    page.object_list = _rows(org, page.object_list)
    return page


# The columns a row shows (synclog/history/_results_body.html), of the 94 the four tables hold:
# building and reading the others was a fifth of the page's CPU. Its amounts and sync date are
# annotations (sync_history_queryset).
ROW_FIELDS = (
    "document__number",
    "document__currency",
    "document__contact__name",
    "payment__reference",
    "connection__name",
    "status",
    "external_number",
    "external_id",
    "synced_amount",
    "last_error_code",
    "last_error_message",
    "last_error_explanation",
    "last_error_hint",
)


def _rows(org: Organization, page_ids: list[int]) -> list[SyncRecord]:
    """The page's records with what a row shows, in the page's order (a record deleted between
    the two reads is left out)."""
    rows = _with_last_status_change(
        sync_history_queryset(org=org).filter(pk__in=page_ids).only(*ROW_FIELDS)
    )
    rows = rows.in_bulk()
    return [rows[pk] for pk in page_ids if pk in rows]


def _with_last_status_change(records):
    """Each record's last Update Sync Status (who, when, from, to, note), for its row to show;
    read for a page's rows only (a subquery per column over the record's few changes)."""
    from_label = Case(
        *[When(from_status=value, then=Value(label)) for value, label in RecordStatus.choices],
        output_field=CharField(),
    )
    last = (
        SyncStatusChange.objects.filter(record=OuterRef("pk"))
        .annotate(from_label=from_label)
        .order_by("-changed_at", "-id")
    )
    # The user, else the API key that made the change; NULL once that user is deleted.
    who = Coalesce("actor__username", NullIf("actor_label", Value("")))
    return records.annotate(
        status_changed_at=Subquery(last.values("changed_at")[:1]),
        status_changed_by=Subquery(last.annotate(who=who).values("who")[:1]),
        status_changed_from=Subquery(last.values("from_label")[:1]),
        status_changed_note=Subquery(last.values("note")[:1]),
    )


def sync_history_record_ids(*, org: Organization, record_ids) -> list[int]:
    """Of the given ids, those of the organisation's records (another's look like missing ones)."""
    return list(
        SyncRecord.objects.for_org(org)
        .filter(pk__in=list(record_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sync_history_count_not_failed(*, org: Organization, record_ids) -> int:
    """How many of the records are not Failed (Complete refuses them): for the error message."""
    return (
        SyncRecord.objects.for_org(org)
        .filter(pk__in=list(record_ids))
        .exclude(status=RecordStatus.FAILED)
        .count()
    )


def sync_history_matching_ids(*, filterset: SyncHistoryFilter) -> list[int]:
    """Every record of a (valid) filter: "select all N matching" acts on these."""
    return list(filterset.results.order_by("pk").values_list("pk", flat=True))


# What a row of the Excel export reads: plain values, no model instances, so a large export
# streams through the database cursor in constant memory.
EXPORT_FIELDS = (
    "document__number",
    "entry_type",
    "amount",
    "document__currency",
    "document__contact__name",
    "payment__reference",
    "sync_date",
    "status",
    "external_number",
    "external_id",  # the reference of an entry with no number (a payment's)
    "synced_amount",
    "amounts_differ",
    "last_error_code",
    "last_error_message",
    "last_error_explanation",
    "last_error_hint",
    "connection__name",
)


def sync_history_export_rows(*, filterset: SyncHistoryFilter, chunk_size: int = 2000):
    """The rows of every record matching the filter (not one page), as dicts, streamed."""
    return filterset.results.values(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)
