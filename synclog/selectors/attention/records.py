"""What needs a person, and how it is grouped: the records of the Requires-attention queue, the
count of their documents, and the key (connection, error code, digest of the message) that
groups them by cause.
"""

from django.db import connection as db
from django.db.models import Case, CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Organization
from integrations.models import Connection, ConnectionStatus
from synclog.models import AttentionTotal, RecordStatus, SyncRecord

# The key of "waiting for a reconnect" groups: no error code (they are Pending), one per connection.
WAITING_CODE = 0
WAITING_DIGEST = "reconnect"


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
    if reauth_connections(org).exists():
        return attention_document_recount(org=org)
    return (
        AttentionTotal.objects.filter(org_id=org.pk).values_list("documents", flat=True).first()
        or 0
    )


def attention_document_recount(*, org: Organization) -> int:
    """The same count from every record that needs attention (what the maintained one equals)."""
    return attention_records(org=org).aggregate(n=Count("document_id", distinct=True))["n"]


def attention_failed_version(*, org_id: int) -> int:
    """A number that changes whenever a record of the organisation enters or leaves Failed (1
    query): every such write appends an AttentionChange (migration 0009's trigger), which
    stays one until a fold, which counts it in `changes_folded` in the same transaction. One
    statement reads both, so a change is counted once, whichever side of a fold it is on; a
    count, not the newest change's id, since changes commit out of their ids' order.

    What is computed from the organisation's Failed records can be kept under it (a run's
    Retry failed items count, synclog.selectors.health)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce((SELECT changes_folded FROM synclog_attentiontotal"
            " WHERE org_id = %(org)s), 0)"
            " + (SELECT count(*) FROM synclog_attentionchange WHERE org_id = %(org)s)",
            {"org": org_id},
        )
        return cursor.fetchone()[0]


def reauth_connections(org: Organization) -> QuerySet[Connection]:
    """The organisation's connections waiting for a reconnect (their Pending records wait)."""
    return Connection.objects.for_org(org).filter(status=ConnectionStatus.NEEDS_REAUTH)


def with_group_key(records: QuerySet[SyncRecord]) -> QuerySet[SyncRecord]:
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


def group_filter(connection_id: int, code: int, digest: str) -> Q:
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
        # A failure without a code is grouped under 0 (see with_group_key).
        code_q = Q(last_error_code__isnull=True) | Q(last_error_code=0)
    else:
        code_q = Q(last_error_code=code)
    return (
        Q(connection_id=connection_id, status=RecordStatus.FAILED, last_error_digest=digest)
        & code_q
    )


def group_records(*, org: Organization, connection_id: int, code: int, digest: str):
    """One cause's records, newest first (the attention index's order)."""
    return (
        SyncRecord.objects.for_org(org)
        .filter(group_filter(connection_id, code, digest))
        .order_by("-updated_at", "-id")
    )
