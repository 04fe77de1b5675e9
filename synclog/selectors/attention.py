"""Reads for the Requires-attention queue and for bulk re-sync (selection, confirmation, progress).

Every function takes the organisation and scopes each query by it; each runs a fixed number of
queries whatever the number of documents, records or runs involved.
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from documents.models import Document, DocumentStatus
from documents.selectors import document_filterset
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    AttentionGroupCount,
    AttentionTotal,
    EntryType,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from synclog.rules import (
    COLLECTING_STATUSES,
    SYNCABLE_DOCUMENTS,
)
from synclog.selectors.eta import Eta, run_eta

# A group shows its newest records; the rest are one click away on the group's own page.
GROUP_PREVIEW_SIZE = 20
# The key of "waiting for a reconnect" groups: no error code (they are Pending), one per connection.
WAITING_CODE = 0
WAITING_DIGEST = "reconnect"

ENTRY_NOUNS = {
    EntryType.BILL: ("bill", "bills"),
    EntryType.BILL_PAYMENT: ("bill payment", "bill payments"),
    EntryType.INVOICE: ("invoice", "invoices"),
    EntryType.INVOICE_PAYMENT: ("invoice payment", "invoice payments"),
    EntryType.EXPENSE: ("expense", "expenses"),
}
WAITING_EXPLANATION = (
    "The ledger no longer accepts ledgersync's access to this connection, so these entries wait. "
    "Nothing is lost."
)
WAITING_HINT = "An admin reconnects the connection; the waiting entries then sync by themselves."


# --- Requires attention ---------------------------------------------------------------------


def attention_records(*, org: Organization) -> QuerySet[SyncRecord]:
    """Records that need a person: Failed, or Pending on a connection waiting for a reconnect.

    The status list repeats what the condition implies, so that PostgreSQL can read the records
    from the small partial index syncrecord_attention_group_idx rather than every record of the
    organisation (it does not infer it from a condition that spans the connection's status).
    """
    return (
        SyncRecord.objects.for_org(org)
        .filter(status__in=[RecordStatus.FAILED, RecordStatus.PENDING])
        .filter(
            Q(status=RecordStatus.FAILED)
            | Q(status=RecordStatus.PENDING, connection__status=ConnectionStatus.NEEDS_REAUTH)
        )
    )


def attention_document_count(*, org: Organization) -> int:
    """How many documents the Requires-attention tab lists (2 queries): the maintained count of
    documents with a Failed record (synclog.services.attention_summary, folded by the caller),
    or a recount when records wait for a reconnect (rare: a connection that needs one)."""
    if _reauth_connections(org).exists():
        return attention_document_recount(org=org)
    return (
        AttentionTotal.objects.filter(org_id=org.pk).values_list("documents", flat=True).first()
        or 0
    )


def attention_document_recount(*, org: Organization) -> int:
    """The same count from every record that needs attention (what the maintained one equals)."""
    return attention_records(org=org).aggregate(n=Count("document_id", distinct=True))["n"]


def _reauth_connections(org: Organization) -> QuerySet[Connection]:
    return Connection.objects.for_org(org).filter(status=ConnectionStatus.NEEDS_REAUTH)


def _with_group_key(records: QuerySet[SyncRecord]) -> QuerySet[SyncRecord]:
    """Annotate the cause a record is grouped by: (connection, error code, digest of the message).

    The engine's messages are deterministic ("Category Travel has no Xero mapping."), so equal
    text means one cause with one fix; the digest is stored with the record
    (`last_error_digest`). Pending records here all wait for the same reconnect.
    """
    waiting = Q(status=RecordStatus.PENDING)
    return records.annotate(
        group_code=Case(
            When(waiting, then=Value(WAITING_CODE)),
            default=Coalesce("last_error_code", Value(0)),
            output_field=IntegerField(),
        ),
        group_digest=Case(
            When(waiting, then=Value(WAITING_DIGEST)),
            default=F("last_error_digest"),
            output_field=CharField(),
        ),
    )


def _group_key(connection_id: int, code: int, digest: str) -> Q:
    """The records of one cause (a part of attention_records), on the stored columns rather
    than the annotations, so that the attention index finds them in its own order, newest
    first, with no join for a failure's cause."""
    if code == WAITING_CODE and digest == WAITING_DIGEST:
        return Q(
            connection_id=connection_id,
            status=RecordStatus.PENDING,
            connection__status=ConnectionStatus.NEEDS_REAUTH,
        )
    if code == 0:
        # A failure without a code is grouped under 0 (see _with_group_key).
        code_q = Q(last_error_code__isnull=True) | Q(last_error_code=0)
    else:
        code_q = Q(last_error_code=code)
    return (
        Q(connection_id=connection_id, status=RecordStatus.FAILED, last_error_digest=digest)
        & code_q
    )


@dataclass
class AttentionGroup:
    """Records that failed for one cause on one connection, with what it means and how to fix it."""

    connection: Connection
    code: int
    digest: str
    message: str
    explanation: str
    hint: str
    count: int
    document_count: int
    counts_by_entry: dict[str, int]
    records: list[SyncRecord] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        # By the digest too: a failure without a code is grouped under code 0 as well.
        return self.code == WAITING_CODE and self.digest == WAITING_DIGEST

    @property
    def entry_label(self) -> str:
        """ "12 bills", "3 bills and 1 bill payment"."""
        parts = []
        for entry_type, (one, many) in ENTRY_NOUNS.items():
            n = self.counts_by_entry.get(entry_type, 0)
            if n:
                parts.append(f"{n} {one if n == 1 else many}")
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else f"{self.count} entries"

    @property
    def code_label(self) -> str:
        try:
            return StatusCode(self.code).label
        except ValueError:
            return ""

    @property
    def more(self) -> int:
        return self.count - len(self.records)

    @property
    def fix(self) -> str:
        """Where the fix is: "reconnect" (the connection's page), "mappings", "document" (each
        one's page), "ledger" (a change in the ledger itself) or "retry" (nothing but a retry)."""
        if self.waiting or self.code in (StatusCode.DEAUTHORISED, StatusCode.ORG_DELETED):
            return "reconnect"
        if self.code == StatusCode.CONFIGURATION:
            return "mappings"
        if self.code in (StatusCode.DATA_PUSH, StatusCode.DUPLICATION, StatusCode.DATA_PROCESSING):
            return "document"
        if self.code == StatusCode.SUBSCRIPTION:
            return "ledger"
        return "retry"

    @property
    def retryable(self) -> bool:
        """Waiting records resume by themselves after the reconnect; a retry pushes only through an
        active connection."""
        return not self.waiting and self.connection.status == ConnectionStatus.ACTIVE


def attention_groups(*, org: Organization) -> QuerySet:
    """The causes, largest first, as rows of counts (one per connection, code and message).

    Counts only, from the attention index alone: what a group says (its message, explanation
    and hint) is read from its newest record (see attention_groups_with_records), not
    aggregated over every failed record's text.
    """
    per_entry = {
        f"n_{entry_type}": Count("id", filter=Q(entry_type=entry_type)) for entry_type in EntryType
    }
    return (
        _with_group_key(attention_records(org=org))
        .values("connection_id", "group_code", "group_digest")
        .annotate(
            count=Count("id"),
            document_count=Count("document_id", distinct=True),
            **per_entry,
        )
        .order_by("-count", "group_code", "group_digest", "connection_id")
    )


def _waiting_groups(*, org: Organization) -> list[dict]:
    """The groups of records waiting for a reconnect (one per connection that needs one), counted
    live: they follow the connection's status, which no record write changes."""
    waiting = SyncRecord.objects.for_org(org).filter(
        status=RecordStatus.PENDING, connection__in=_reauth_connections(org)
    )
    return list(
        attention_groups(org=org)
        .filter(pk__in=waiting.values("pk"))
        .order_by("-count", "connection_id")
    )


_MAINTAINED_ROW = {
    "connection_id": "connection_id",
    "group_code": "code",
    "group_digest": "digest",
    "count": "count",
    "document_count": "document_count",
    **{f"n_{entry_type}": f"n_{entry_type}" for entry_type in EntryType},
}


def _maintained_rows(rows: QuerySet[AttentionGroupCount]) -> list[dict]:
    return [{key: getattr(row, column) for key, column in _MAINTAINED_ROW.items()} for row in rows]


class AttentionGroupRows:
    """The rows of `attention_groups` in its order (largest first), for a Paginator: the Failed
    groups from their maintained counts (one page read by the page's index, the number of groups
    maintained), merged with the live groups of records waiting for a reconnect (2 queries; 3
    with waiting groups)."""

    def __init__(self, *, org: Organization):
        self.org = org
        self.waiting = _waiting_groups(org=org)
        self._ahead = self._maintained_ahead_of_waiting()

    def _maintained_ahead_of_waiting(self) -> list[int]:
        """For each waiting group, how many Failed groups sort before it."""
        if not self.waiting:
            return []
        groups = AttentionGroupCount.objects.filter(org_id=self.org.pk)
        counts = groups.aggregate(
            **{
                f"w{i}": Count(
                    "id",
                    filter=Q(count__gt=row["count"])
                    | Q(count=row["count"], code__lt=WAITING_CODE)
                    | Q(count=row["count"], code=WAITING_CODE, digest__lt=WAITING_DIGEST)
                    | Q(
                        count=row["count"],
                        code=WAITING_CODE,
                        digest=WAITING_DIGEST,
                        connection_id__lt=row["connection_id"],
                    ),
                )
                for i, row in enumerate(self.waiting)
            }
        )
        return [counts[f"w{i}"] for i in range(len(self.waiting))]

    def count(self) -> int:
        total = AttentionTotal.objects.filter(org_id=self.org.pk).values_list("groups", flat=True)
        return (total.first() or 0) + len(self.waiting)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[dict]:
        start, stop = window.start or 0, window.stop
        waiting_at = {
            ahead + i: row
            for i, (ahead, row) in enumerate(zip(self._ahead, self.waiting, strict=True))
        }
        before = sum(1 for position in waiting_at if position < start)
        inside = sum(1 for position in waiting_at if start <= position < stop)
        offset = start - before
        rows = iter(
            _maintained_rows(
                AttentionGroupCount.objects.filter(org_id=self.org.pk).order_by(
                    "-count", "code", "digest", "connection_id"
                )[offset : offset + (stop - start) - inside]
            )
        )
        page = []
        for position in range(start, stop):
            row = waiting_at.get(position) or next(rows, None)
            if row is None:
                break
            page.append(row)
        return page


def _group_records(*, org: Organization, connection_id: int, code: int, digest: str):
    """One cause's records, newest first (the attention index's order)."""
    return (
        SyncRecord.objects.for_org(org)
        .filter(_group_key(connection_id, code, digest))
        .order_by("-updated_at", "-id")
    )


def _build_group(
    row: dict, connection: Connection, records: list[SyncRecord], newest: SyncRecord | None
) -> AttentionGroup:
    """A group from its counts row, what its newest record says, and the records to show."""
    if (row["group_code"], row["group_digest"]) == (WAITING_CODE, WAITING_DIGEST):
        message = connection.last_error or "Access to the ledger was revoked or expired."
        explanation, hint = WAITING_EXPLANATION, WAITING_HINT
    elif newest is not None:
        message = newest.last_error_message
        explanation, hint = newest.last_error_explanation, newest.last_error_hint
    else:  # emptied between the two reads
        message = explanation = hint = ""
    return AttentionGroup(
        connection=connection,
        code=row["group_code"],
        digest=row["group_digest"],
        message=message,
        explanation=explanation,
        hint=hint,
        count=row["count"],
        document_count=row["document_count"],
        counts_by_entry={
            entry_type: row[f"n_{entry_type}"] for entry_type in EntryType if row[f"n_{entry_type}"]
        },
        records=records,
    )


def attention_groups_with_records(
    *, org: Organization, group_rows: list[dict]
) -> list[AttentionGroup]:
    """The groups of one page of `attention_groups`, each with its newest records (3 queries).

    Each group's newest ids come from the attention index, 20 per group (one UNION ALL of a
    LIMIT per group: ranking every record of the page's groups read them all); then only the
    kept records are read with their documents.
    """
    if not group_rows:
        return []
    keys = [(row["connection_id"], row["group_code"], row["group_digest"]) for row in group_rows]
    newest = [
        _group_records(org=org, connection_id=c, code=code, digest=digest).values_list(
            "pk", flat=True
        )[:GROUP_PREVIEW_SIZE]
        for c, code, digest in keys
    ]
    kept_ids = list(newest[0].union(*newest[1:], all=True)) if len(newest) > 1 else list(newest[0])
    rows = (
        _with_group_key(SyncRecord.objects.for_org(org))
        .filter(pk__in=kept_ids)
        .select_related("document", "document__contact", "payment")
        .order_by("-updated_at", "-id")
    )
    by_key: dict[tuple, list[SyncRecord]] = {}
    for record in rows:
        key = (record.connection_id, record.group_code, record.group_digest)
        by_key.setdefault(key, []).append(record)
    connections = Connection.objects.for_org(org).in_bulk({key[0] for key in keys})
    groups = []
    for row, key in zip(group_rows, keys, strict=True):
        records = by_key.get(key, [])
        groups.append(
            _build_group(row, connections[key[0]], records, records[0] if records else None)
        )
    return groups


def attention_group_get(
    *, org: Organization, connection_id: int, code: int, digest: str
) -> tuple[AttentionGroup | None, QuerySet[SyncRecord]]:
    """One cause's group (None once it is empty) and all its records, newest first (3 queries;
    the records are paginated by attention_group_records_page).

    Another organisation's connection is a 404, like a missing one.
    """
    connection = get_object_or_404(Connection.objects.for_org(org), pk=connection_id)
    records = _group_records(org=org, connection_id=connection.pk, code=code, digest=digest)
    if (code, digest) == (WAITING_CODE, WAITING_DIGEST):
        rows = [row for row in _waiting_groups(org=org) if row["connection_id"] == connection.pk]
    else:
        rows = _maintained_rows(
            AttentionGroupCount.objects.filter(
                org_id=org.pk, connection_id=connection.pk, code=code, digest=digest
            )
        )
    if not rows:
        return None, records
    newest = records.first()
    group = _build_group(rows[0], connection, [], newest)
    return group, records.select_related("document", "document__contact", "payment")


def attention_group_records_page(
    *, records: QuerySet[SyncRecord], number, per_page: int, count: int | None = None
) -> Page:
    """One page of a group's records (from attention_group_get): the page's ids first, from the
    attention index alone, then only those records with their documents (a group can hold
    thousands). `count`: the group's maintained count, so that the pager counts nothing."""
    paginator = Paginator(records.values_list("pk", flat=True), per_page)
    if count is not None:
        paginator.count = count  # a cached_property: this value instead of a COUNT(*)
    page = paginator.get_page(number)
    page_ids = list(page.object_list)
    rows = records.filter(pk__in=page_ids).in_bulk()
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]
    return page


def attention_group_document_ids(
    *, org: Organization, connection: Connection, code: int, digest: str
) -> list[int]:
    """The documents of one group, for a retry of exactly them (one query)."""
    return list(
        SyncRecord.objects.for_org(org)
        .filter(_group_key(connection.pk, code, digest))
        .values_list("document_id", flat=True)
        .distinct()
    )


# --- Bulk re-sync: what a selection holds, and how its runs are going ------------------------


class SelectionError(Exception):
    """The selection cannot be resolved (the filter it names is not valid)."""


def bulk_selection_documents(
    *,
    org: Organization,
    document_ids: list[int] | None = None,
    filter_query: str | None = None,
) -> QuerySet[Document]:
    """The documents a bulk action applies to: the ids picked on the page (another
    organisation's ids are simply not found), or every document matching the list's filter,
    re-applied here with the list's own FilterSet."""
    if filter_query is not None:
        filterset = document_filterset(org=org, filters=QueryDict(filter_query))
        if not filterset.is_valid():
            raise SelectionError("The list's filter is no longer valid; filter the list again.")
        return filterset.qs
    return Document.objects.for_org(org).filter(pk__in=document_ids or [])


@dataclass
class SelectionSummary:
    """What a bulk re-sync of the chosen documents would do: how many sync, how many are
    skipped and why, and the connections they go to."""

    total: int
    syncable_ids: list[int]
    drafts: int  # drafts and documents awaiting approval never sync
    connections: list[Connection]

    @property
    def skipped(self) -> int:
        return self.total - len(self.syncable_ids)


def bulk_selection_summary(*, documents: QuerySet[Document], org: Organization) -> SelectionSummary:
    """What a bulk re-sync of these documents would push, skip, and to which ledgers (3 queries)."""
    counts = documents.aggregate(
        total=Count("id"),
        drafts=Count(
            "id",
            filter=Q(status__in=[DocumentStatus.DRAFT, DocumentStatus.AWAITING_APPROVAL]),
        ),
    )
    syncable_ids = list(documents.filter(SYNCABLE_DOCUMENTS).values_list("pk", flat=True))
    connections = list(Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES))
    return SelectionSummary(
        total=counts["total"],
        syncable_ids=syncable_ids,
        drafts=counts["drafts"],
        connections=connections,
    )


@dataclass
class RunProgress:
    """One run of a bulk re-sync, counted by item outcome for the progress page."""

    run: SyncRun
    pushed: int = 0
    nothing_to_push: int = 0
    failed: int = 0
    pending: int = 0
    eta: Eta | None = None  # while it runs: when it will be done

    @property
    def total(self) -> int:
        return self.pushed + self.nothing_to_push + self.failed + self.pending

    @property
    def done(self) -> int:
        return self.total - self.pending

    @property
    def finished(self) -> bool:
        return self.run.finished_at is not None

    @property
    def preparing(self) -> bool:
        return self.run.preparing


@dataclass
class BulkProgress:
    """Every run of one bulk re-sync and the failed items to show, for the progress page."""

    runs: list[RunProgress]
    failed_items: list[SyncRunItem]

    @property
    def finished(self) -> bool:
        return all(progress.finished for progress in self.runs)

    @property
    def preparing(self) -> bool:
        return any(progress.preparing for progress in self.runs)

    @property
    def selected(self) -> int:
        """Documents chosen, while a worker still prepares the runs."""
        return max((len(progress.run.selection or ()) for progress in self.runs), default=0)

    @property
    def is_retry(self) -> bool:
        return all(progress.run.trigger == Trigger.RETRY for progress in self.runs)

    @property
    def total(self) -> int:
        return sum(progress.total for progress in self.runs)

    @property
    def done(self) -> int:
        return sum(progress.done for progress in self.runs)

    @property
    def failed(self) -> int:
        return sum(progress.failed for progress in self.runs)

    @property
    def more_failed(self) -> int:
        return self.failed - len(self.failed_items)


def bulk_progress(*, org: Organization, public_ids: list[UUID]) -> BulkProgress:
    """The runs of one bulk re-sync with their items' outcomes, the first failures (3 queries)
    and the ETA of each run still going (a query each).

    A run id that is not this organisation's is a 404, like a missing one.
    """
    wanted = list(dict.fromkeys(public_ids))
    runs = list(
        SyncRun.objects.for_org(org)
        .filter(public_id__in=wanted)
        .select_related("connection", "actor")
        .order_by("connection__name", "id")
    )
    if len(runs) != len(wanted):
        raise Http404("No such sync.")
    progress = {run.pk: RunProgress(run=run) for run in runs}
    outcomes = (
        SyncRunItem.objects.filter(run__in=runs)
        .values_list("run_id", "outcome")
        .annotate(n=Count("id"))
        .values_list("run_id", "outcome", "n")
    )
    for run_id, outcome, n in outcomes:
        setattr(progress[run_id], outcome, n)
    for item in progress.values():
        if not item.finished:
            item.eta = run_eta(run=item.run)
    failed_items = list(
        SyncRunItem.objects.filter(run__in=runs, outcome=RunItemOutcome.FAILED)
        .select_related("run__connection", "record", "record__document", "record__payment")
        .order_by("record__document__number", "id")[:GROUP_PREVIEW_SIZE]
    )
    return BulkProgress(runs=list(progress.values()), failed_items=failed_items)
