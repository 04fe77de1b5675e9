"""The Requires-attention queue by cause: its groups, largest first (paginated from the
maintained counts), each with its newest records, and one group's own page.
"""

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import connection as db
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    LEDGER_DRIFT_PREFIXES,
    LEDGER_GONE_PREFIXES,
    AttentionGroupCount,
    AttentionTotal,
    EntryType,
    RecordStatus,
    StatusCode,
    SyncRecord,
)
from synclog.selectors.attention.records import (
    WAITING_CODE,
    WAITING_DIGEST,
    attention_records,
    group_filter,
    group_records,
    reauth_connections,
    with_group_key,
)

# A group shows its newest records; the rest are one click away on the group's own page. A
# few are enough to recognise a cause, and the overview stays a list of causes: with 20 a
# group, rendering 20 groups' 400 rows was most of the page's time (figure 3, issue 13).
GROUP_PREVIEW_SIZE = 5

# What a group's preview reads of its records: its rows (synclog/attention/_group.html) and
# what the newest one says; not every column of the record and its document.
PREVIEW_FIELDS = (
    "connection_id",
    "entry_type",
    "status",
    "updated_at",
    "last_error_message",
    "last_error_explanation",
    "last_error_hint",
    "document__number",
    "document__total",
    "document__currency",
    "document__contact__name",
    "payment__amount",
    "payment__paid_at",
)

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
    def ledger_gone(self) -> bool:
        """Entries voided or deleted in the ledger (SyncRecord.ledger_gone; a group is one
        message): a retry cannot help, a new entry or marking them Complete does."""
        return not self.waiting and self.message.startswith(LEDGER_GONE_PREFIXES)

    @property
    def ledger_drifted(self) -> bool:
        """Entries changed in the ledger behind our back, not gone (SyncRecord.ledger_drifted):
        "push ours again" (through the preview) or "accept the ledger's" fixes them."""
        return (
            not self.waiting
            and not self.ledger_gone
            and self.message.startswith(LEDGER_DRIFT_PREFIXES)
        )

    @property
    def ledger(self) -> str:
        """The ledger's name ("Xero"), for "Accept Xero's"."""
        return self.connection.get_provider_display()

    @property
    def fix(self) -> str:
        """Where the fix is: "reconnect" (the connection's page), "mappings", "document" (each
        one's page), "ledger" (a change in the ledger itself), "new-entry" (gone from the
        ledger: each one pushed as a new entry), "drift" (changed in the ledger: push ours
        again or accept the ledger's) or "retry" (nothing but a retry)."""
        if self.ledger_gone:
            return "new-entry"
        if self.ledger_drifted:
            return "drift"
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
        active connection; a retry of entries gone from the ledger cannot help, and one of
        entries changed there would push ours again without the preview (their own fixes)."""
        return (
            not self.waiting
            and self.fix not in ("new-entry", "drift")
            and self.connection.status == ConnectionStatus.ACTIVE
        )

    @property
    def active(self) -> bool:
        return self.connection.status == ConnectionStatus.ACTIVE


def attention_groups(*, org: Organization) -> QuerySet:
    """The causes, largest first, as rows of counts (one per connection, code and message).

    Counts only, from the attention index alone: what a group says (its message, explanation
    and hint) is read from its newest record (see attention_groups_with_records), not
    aggregated over every failed record's text.
    """
    return _group_counts(attention_records(org=org)).order_by(
        "-count", "group_code", "group_digest", "connection_id"
    )


def _group_counts(records: QuerySet[SyncRecord]) -> QuerySet:
    per_entry = {
        f"n_{entry_type}": Count("id", filter=Q(entry_type=entry_type)) for entry_type in EntryType
    }
    return (
        with_group_key(records)
        .values("connection_id", "group_code", "group_digest")
        .annotate(
            count=Count("id"),
            document_count=Count("document_id", distinct=True),
            **per_entry,
        )
    )


def _waiting_groups(*, org: Organization) -> list[dict]:
    """The groups of records waiting for a reconnect (one per connection that needs one), counted
    live: they follow the connection's status, which no record write changes.

    Only the Pending records of those connections, by the attention index's (organisation,
    connection, status): not every record the queue holds, filtered (at 1,000,000 documents
    that read the 52,000 Pending records of an active connection for none: 22 ms a page).
    """
    waiting = SyncRecord.objects.for_org(org).filter(
        status=RecordStatus.PENDING, connection__in=reauth_connections(org)
    )
    return list(_group_counts(waiting).order_by("-count", "connection_id"))


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
    kept_ids = _newest_ids(org=org, keys=keys)
    rows = (
        with_group_key(SyncRecord.objects.for_org(org))
        .filter(pk__in=kept_ids)
        .select_related("document", "document__contact", "payment")
        .only(*PREVIEW_FIELDS)
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


# One group's newest ids, for the common group (a failure with a code): what group_records and
# group_filter read, written out once. Building and compiling a queryset a group for the
# UNION was a third of the page's CPU (figure 3, issue 13).
_NEWEST_FAILED_SQL = (
    "(SELECT id FROM synclog_syncrecord WHERE org_id = %s AND connection_id = %s"
    " AND last_error_digest = %s AND status = %s AND last_error_code = %s"
    " ORDER BY updated_at DESC, id DESC LIMIT %s)"
)


def _newest_ids(*, org: Organization, keys: list[tuple[int, int, str]]) -> list[int]:
    """Each group's newest ids, GROUP_PREVIEW_SIZE a group, in one UNION ALL of a LIMIT per
    group, each read from the attention index in its order (1 query)."""
    parts, params = [], []
    for connection_id, code, digest in keys:
        if code == WAITING_CODE:
            # Waiting for a reconnect, or failed without a code (rare): their own filters.
            newest = group_records(
                org=org, connection_id=connection_id, code=code, digest=digest
            ).values_list("pk", flat=True)[:GROUP_PREVIEW_SIZE]
            sql, sql_params = newest.query.sql_with_params()
            parts.append(f"({sql})")
            params.extend(sql_params)
        else:
            parts.append(_NEWEST_FAILED_SQL)
            params.extend(
                [org.pk, connection_id, digest, RecordStatus.FAILED, code, GROUP_PREVIEW_SIZE]
            )
    with db.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [row[0] for row in cursor.fetchall()]


def attention_group_get(
    *, org: Organization, connection_id: int, code: int, digest: str
) -> tuple[AttentionGroup | None, QuerySet[SyncRecord]]:
    """One cause's group (None once it is empty) and all its records, newest first (3 queries;
    the records are paginated by attention_group_records_page).

    Another organisation's connection is a 404, like a missing one.
    """
    connection = get_object_or_404(Connection.objects.for_org(org), pk=connection_id)
    records = group_records(org=org, connection_id=connection.pk, code=code, digest=digest)
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
        .filter(group_filter(connection.pk, code, digest))
        .values_list("document_id", flat=True)
        .distinct()
    )
