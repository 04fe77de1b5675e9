"""Reads of the Sync Health pages: run totals and history, one run with its push items, and a
connection's configuration (never its credentials). Every read is scoped to one organisation."""

import datetime
import re
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import (
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Replace
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Organization
from documents.models import Category, Contact, Department
from integrations.models import Connection, Mapping, MappingKind
from synclog.models import (
    EntryType,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncAttempt,
    SyncRun,
    SyncRunItem,
    display_status_q,
)
from synclog.selectors.attention import attention_failed_version
from syncsvc.dates import day_end, day_start

# ?sort= values and the ordering each means; anything else falls back to DEFAULT_RUN_SORT.
RUN_SORTS: dict[str, tuple] = {
    "-started": (F("started_at").desc(), F("id").desc()),
    "started": (F("started_at").asc(), F("id").asc()),
    "-duration": (F("run_duration").desc(nulls_last=True), F("started_at").desc()),
    "duration": (F("run_duration").asc(nulls_last=True), F("started_at").desc()),
    "-status": (F("status_code").desc(), F("started_at").desc()),
    "status": (F("status_code").asc(), F("started_at").desc()),
}
DEFAULT_RUN_SORT = "-started"

# Words that mark a settings key as a secret: such keys never reach a page or a download.
SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "credential", "credentials"})
SECRET_KEY_PATTERN = re.compile(r"(^|_)(api_?)?key($|_)")


@dataclass(frozen=True)
class RunFilters:
    """What the dashboard asks for; None means no bound."""

    query: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    status_code: int | None = None


def code_family(code: int | None) -> str:
    """The family of a status code, for colours: in progress, success, our side or the
    ledger's configuration (4xxx), server and push errors (5xxx)."""
    return {1: "progress", 2: "success", 4: "client", 5: "server"}.get((code or 0) // 1000, "")


@dataclass(frozen=True)
class StatusTotal:
    """How many runs have one status code, for the dashboard's totals."""

    code: int
    label: str
    count: int

    @property
    def family(self) -> str:
        return code_family(self.code)


def _search_q(*, org: Organization, query: str) -> Q:
    """A sync id (whole or its first characters), or an organisation name: this organisation's
    own name (every run) or the ledger organisation / connection a run went to."""
    query = query.strip()
    compact = query.replace("-", "").lower()
    condition = Q(connection__tenant_name__icontains=query) | Q(connection__name__icontains=query)
    if compact and re.fullmatch(r"[0-9a-f]+", compact):
        condition |= Q(public_id_compact__startswith=compact)
    if query.lower() in org.name.lower():
        # Searching for the organisation itself: every one of its runs matches.
        condition = Q()
    return condition


def _runs_in(*, org: Organization, filters: RunFilters) -> QuerySet[SyncRun]:
    """The organisation's runs in the period and search, whatever their status code."""
    runs = SyncRun.objects.for_org(org)
    if filters.date_from:
        runs = runs.filter(started_at__gte=day_start(filters.date_from))
    if filters.date_to and day_end(filters.date_to) is not None:
        runs = runs.filter(started_at__lt=day_end(filters.date_to))
    if filters.query.strip():
        # Hyphens dropped on both sides: an id is pasted with or without them.
        runs = runs.annotate(
            public_id_compact=Replace(
                Cast("public_id", output_field=CharField()), Value("-"), Value("")
            )
        ).filter(_search_q(org=org, query=filters.query))
    return runs


def sync_run_totals(*, org: Organization, filters: RunFilters) -> list[StatusTotal]:
    """How many runs of the period ended (or stand) at each status code of DESIGN §5, in one
    query. The status-code filter is not applied: the totals show the whole period."""
    now = timezone.now()
    counts = _runs_in(org=org, filters=filters).aggregate(
        **{
            f"code_{code.value}": Count("id", filter=display_status_q(code, now))
            for code in StatusCode
        }
    )
    return [
        StatusTotal(code=code.value, label=code.label, count=counts[f"code_{code.value}"])
        for code in StatusCode
    ]


def sync_run_list(
    *, org: Organization, filters: RunFilters, sort: str = DEFAULT_RUN_SORT
) -> QuerySet[SyncRun]:
    """The sync history: runs of the period, search and status code, in a whitelisted order."""
    runs = _runs_in(org=org, filters=filters)
    if filters.status_code is not None:
        runs = runs.filter(display_status_q(filters.status_code, timezone.now()))
    ordering = RUN_SORTS.get(sort, RUN_SORTS[DEFAULT_RUN_SORT])
    return (
        runs.select_related("connection", "actor")
        .annotate(
            run_duration=ExpressionWrapper(
                F("finished_at") - F("started_at"), output_field=DurationField()
            )
        )
        .order_by(*ordering)
    )


def sync_run_get(*, org: Organization, public_id) -> SyncRun:
    """One run of the organisation by its public id; another organisation's is a 404."""
    return get_object_or_404(
        SyncRun.objects.for_org(org).select_related("connection", "actor", "retry_of"),
        public_id=public_id,
    )


def sync_run_find(*, org: Organization, public_id: str) -> SyncRun | None:
    """The run whose whole public id this is, or None (not an id, or not this organisation's)."""
    try:
        value = uuid.UUID(public_id.strip())
    except (ValueError, AttributeError):
        return None
    return SyncRun.objects.for_org(org).filter(public_id=value).first()


def sync_run_retries(*, run: SyncRun) -> QuerySet[SyncRun]:
    """The runs that retried this one's failed items, newest first."""
    return SyncRun.objects.filter(org_id=run.org_id, retry_of=run).order_by("-started_at")


def sync_run_retryable_count(*, run: SyncRun) -> int:
    """How many of the run's failed items Retry failed items would push: those whose records
    are still Failed (not pushed again meanwhile, nor waiting for a reconnect).

    Kept in the cache for the run's counts (which change with its failed items) and the
    organisation's Failed version (which changes with any of its records entering or leaving
    Failed), both read before the count: a cached number is never older than its key. The
    count joins each failed item to its record (5,145 of a run of 85,715: 50-90 ms of database
    time at every poll of the page, when nothing changed).
    """
    version = attention_failed_version(org_id=run.org_id)
    key = (
        f"sync-run-retryable:{run.public_id}:{run.failed}:{run.resolved}:{run.pushed}:"
        f"{run.nothing_to_push}:{run.total}:{version}"
    )
    count = cache.get(key)
    if count is None:
        count = SyncRunItem.objects.filter(
            run=run, outcome=RunItemOutcome.FAILED, record__status=RecordStatus.FAILED
        ).count()
        cache.set(key, count, timeout=ERROR_SUMMARY_SECONDS)
    return count


def sync_run_items(*, run: SyncRun, query: str = "", outcome: str = "") -> QuerySet[SyncRunItem]:
    """A run's push items, searchable by document number, record id or entry type, in record
    order (the Record column: each document's entries side by side, as the run queued them).

    Not by document number: that order joins every item of the run to its record and document
    to sort them (8,572 items: most of the page's time), while record order is the run's own
    unique index (run, record), which serves the count and any page without a join. It does
    not move while the run is in progress, so the polled page keeps its rows in place.
    """
    items = SyncRunItem.objects.filter(run=run)
    if outcome:
        items = items.filter(outcome=outcome)
    query = query.strip()
    if query:
        condition = Q(record__document__number__icontains=query)
        if query.isdigit():
            condition |= Q(record_id=int(query))
        lowered = query.lower().replace("_", " ")
        entry_types = [
            value
            for value, label in EntryType.choices
            if lowered in (value.replace("_", " "), label.lower())
        ]
        if entry_types:
            condition |= Q(record__entry_type__in=entry_types)
        items = items.filter(condition)
    return items.order_by("record_id")


def sync_run_items_page(*, items: QuerySet[SyncRunItem], number, per_page: int) -> Page:
    """One page of `sync_run_items`: the page's record ids first, from the run's index alone,
    then only those items with their records and documents (3 queries with the count)."""
    page = Paginator(items.values_list("record_id", flat=True), per_page).get_page(number)
    record_ids = list(page.object_list)
    rows = {
        item.record_id: item
        for item in items.filter(record_id__in=record_ids).select_related(
            "record", "record__document", "record__payment"
        )
    }
    # An item deleted between the two reads (its run or record deleted) is left out.
    page.object_list = [rows[pk] for pk in record_ids if pk in rows]
    return page


def sync_run_item_attempts(*, run: SyncRun, record_ids: list[int]) -> dict[int, SyncAttempt]:
    """The last attempt of each record within this run (what happened to it here), one query."""
    latest: dict[int, SyncAttempt] = {}
    attempts = SyncAttempt.objects.filter(run=run, record_id__in=record_ids).order_by(
        "record_id", "-started_at", "-id"
    )
    for attempt in attempts.only(
        "record_id",
        "status_code",
        "outcome",
        "error_message",
        "explanation",
        "hint",
        "error_detail",
        "started_at",
    ):
        latest.setdefault(attempt.record_id, attempt)
    return latest


def sync_run_error_summary(*, run: SyncRun) -> list[dict]:
    """The run's failed items grouped by cause (status code and our explanation), largest
    group first: "2 items · 4000 · Category Travel is not mapped…".

    Kept in the cache for the run's counts as they stand: a failed item's cause is its last
    attempt in the run, which no later write changes, and an item only ever leaves Pending
    (counted as it ends) or Failed (counted as resolved), so equal counts are equal failed
    items. Grouping a large run's failures reads each one's last attempt (5,145 failed items
    of 85,715: ~50 ms of database time at every poll of the page).
    """
    key = (
        f"sync-run-errors:{run.public_id}:{run.failed}:{run.resolved}:{run.pushed}:"
        f"{run.nothing_to_push}:{run.total}"
    )
    summary = cache.get(key)
    if summary is None:
        summary = _sync_run_error_groups(run=run)
        cache.set(key, summary, timeout=ERROR_SUMMARY_SECONDS)
    return summary


# How long a run's error summary and retryable count stay in the cache (their keys change with
# what they count).
ERROR_SUMMARY_SECONDS = 3600


def _sync_run_error_groups(*, run: SyncRun) -> list[dict]:
    last_attempt = SyncAttempt.objects.filter(
        run_id=OuterRef("run_id"), record_id=OuterRef("record_id")
    ).order_by("-started_at", "-id")
    groups = (
        SyncRunItem.objects.filter(run=run, outcome=RunItemOutcome.FAILED)
        .annotate(
            explanation=Subquery(last_attempt.values("explanation")[:1]),
            hint=Subquery(last_attempt.values("hint")[:1]),
        )
        .values("status_code", "explanation", "hint")
        .annotate(count=Count("id"))
        .order_by("-count", "status_code")
    )
    labels = dict(StatusCode.choices)
    return [
        {**group, "label": labels.get(group["status_code"], "Unknown code")} for group in groups
    ]


def connection_recent_runs(*, connection: Connection, limit: int = 5) -> list[SyncRun]:
    """The connection's latest runs, newest first, with who started them."""
    return list(
        SyncRun.objects.filter(org_id=connection.org_id, connection=connection)
        .select_related("actor")
        .order_by("-started_at", "-id")[:limit]
    )


def _is_secret_key(name: str) -> bool:
    lowered = str(name).lower()
    parts = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(parts & SECRET_WORDS) or bool(SECRET_KEY_PATTERN.search(lowered))


def _without_secrets(value):
    """Settings hold no secrets by design; this keeps it so even if one is put there."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if not _is_secret_key(k)}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


def _local_names(connection: Connection, mappings: list[Mapping]) -> dict[tuple[str, int], str]:
    """Our objects' names for the mappings, one query per kind of object (never per mapping)."""
    models = {
        MappingKind.ACCOUNT: Category,
        MappingKind.TRACKING: Department,
        MappingKind.CONTACT: Contact,
    }
    names = {}
    for kind, model in models.items():
        ids = [m.local_id for m in mappings if m.kind == kind]
        if ids:
            for obj in model.objects.for_org(connection.org_id).filter(pk__in=ids):
                names[(kind, obj.pk)] = str(obj)
    return names


def connection_config(*, connection: Connection) -> dict:
    """What the connection is set up with, for the page and the JSON download: provider, ledger
    organisation, settings and mappings. Built field by field so credentials can never leak."""
    mappings = list(Mapping.objects.filter(connection=connection).order_by("kind", "local_id"))
    names = _local_names(connection, mappings)
    kinds = dict(MappingKind.choices)
    return {
        "id": connection.pk,
        "name": connection.name,
        "provider": connection.provider,
        "provider_name": connection.get_provider_display(),
        "status": connection.status,
        "status_name": connection.get_status_display(),
        "tenant_name": connection.tenant_name,
        "tenant_id": connection.tenant_id,
        "base_url": connection.base_url,
        "connected_at": connection.connected_at.isoformat() if connection.connected_at else None,
        "last_checked_at": (
            connection.last_checked_at.isoformat() if connection.last_checked_at else None
        ),
        "settings": _without_secrets(connection.settings or {}),
        "mappings": [
            {
                "kind": mapping.kind,
                "kind_name": kinds.get(mapping.kind, mapping.kind),
                "local_id": mapping.local_id,
                "local_name": names.get((mapping.kind, mapping.local_id), ""),
                "external_id": mapping.external_id,
                "external_name": mapping.external_name,
            }
            for mapping in mappings
        ],
    }
