"""Reads of the Accounting Sync History page: records by tab and filter, scoped to one org."""

import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import Organization
from synclog.filters import SyncHistoryFilter, sync_dated
from synclog.models import SYNC_DATE, RecordStatus, SyncRecord, SyncStatusChange


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


# A filter that matches more records than this is not counted: its pages go newest, newer,
# older, oldest from a cursor (the sync date and id of a page's edge) instead of by number.
# Counting a million records for the pager, and walking to the offset of its last page, cost
# most of the page's time (bench/README.md, issue 13 figure 3).
COUNT_LIMIT = 10_000


@dataclass
class KeysetPage:
    """One page of a filter that matches more than COUNT_LIMIT records: its records, newest
    first, and the cursors of the pages either side ('' at the newest or oldest end)."""

    object_list: list
    newer: str = ""
    older: str = ""
    more_than: int = COUNT_LIMIT
    keyset: bool = field(default=True, init=False)

    @property
    def more_than_label(self) -> str:
        return f"{self.more_than:,}"

    def __len__(self) -> int:
        return len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)


def _cursor(sync_date: datetime.datetime, pk: int) -> str:
    return f"{sync_date.isoformat()}~{pk}"


def _parse_cursor(cursor: str) -> tuple[datetime.datetime, int] | None:
    moment, _, pk = (cursor or "").rpartition("~")
    try:
        return datetime.datetime.fromisoformat(moment), int(pk)
    except ValueError:
        return None


def sync_history_page(
    *,
    org: Organization,
    filterset: SyncHistoryFilter,
    number,
    per_page: int,
    after: str = "",
    before: str = "",
    oldest: bool = False,
) -> Page | KeysetPage:
    """One page of the filter's records, newest sync date first, in three queries.

    The count (up to COUNT_LIMIT + 1) and the page's ids come from the records alone, in the
    order of the history index (syncrecord_history_idx), so neither joins nor sorts every
    matching record. Only the page's records are then read with what a row shows. An invalid
    filter (shown on the form) matches nothing.

    Up to COUNT_LIMIT matching records: a numbered page (`number`). More: a KeysetPage, the
    newest (no cursor), the one `after` a cursor (older), `before` one (newer) or the `oldest`;
    each reads one page of the index from its cursor, whatever its depth.
    """
    if filterset.is_valid():
        records = filterset.filter_queryset(SyncRecord.objects.for_org(org))
    else:
        records = SyncRecord.objects.none()
    dated = records.annotate(sync_date=SYNC_DATE)
    newest_first = dated.order_by("-sync_date", "-id")
    count = newest_first.values("pk")[: COUNT_LIMIT + 1].count()
    if count <= COUNT_LIMIT:
        paginator = Paginator(newest_first.values_list("pk", flat=True), per_page)
        paginator.count = count  # a cached_property: the count just read, not another
        page = paginator.get_page(number)
        page.object_list = _rows(org, list(page.object_list))
        return page
    page = _keyset_page(
        dated, per_page, after=_parse_cursor(after), before=_parse_cursor(before), oldest=oldest
    )
    page.object_list = _rows(org, page.object_list)
    return page


def _keyset_page(dated, per_page: int, *, after, before, oldest: bool) -> KeysetPage:
    """The ids of one page from a cursor, newest first, with the cursors of its neighbours."""
    newest_first = dated.order_by("-sync_date", "-id").values_list("pk", "sync_date")
    oldest_first = dated.order_by("sync_date", "id").values_list("pk", "sync_date")
    if before is not None:
        moment, pk = before
        newer = oldest_first.filter(sync_dated("gte", moment)).exclude(
            sync_dated("exact", moment) & Q(pk__lte=pk)
        )
        rows = list(newer[: per_page + 1])
        has_newer, has_older = len(rows) > per_page, True
        rows = rows[:per_page][::-1]
    elif oldest:
        rows = list(oldest_first[:per_page])[::-1]
        has_newer, has_older = True, False
    else:
        if after is not None:
            moment, pk = after
            newest_first = newest_first.filter(sync_dated("lte", moment)).exclude(
                sync_dated("exact", moment) & Q(pk__gte=pk)
            )
        rows = list(newest_first[: per_page + 1])
        has_newer, has_older = after is not None, len(rows) > per_page
        rows = rows[:per_page]
    if not rows:  # a cursor past either end: the newest page
        return _keyset_page(dated, per_page, after=None, before=None, oldest=False)
    return KeysetPage(
        object_list=[pk for pk, _ in rows],
        newer=_cursor(rows[0][1], rows[0][0]) if has_newer else "",
        older=_cursor(rows[-1][1], rows[-1][0]) if has_older else "",
        more_than=COUNT_LIMIT,
    )


def _rows(org: Organization, page_ids: list[int]) -> list[SyncRecord]:
    """The page's records with what a row shows, in the page's order (a record deleted between
    the two reads is left out)."""
    rows = _with_last_status_change(sync_history_queryset(org=org).filter(pk__in=page_ids))
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
    return records.annotate(
        status_changed_at=Subquery(last.values("changed_at")[:1]),
        status_changed_by=Subquery(last.values("actor__username")[:1]),
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
