"""Requires attention, maintained: the Failed groups' counts folded from the records' changes.

A trigger on synclog_syncrecord (migration 0009) appends an AttentionChange for each record
that enters Failed, leaves it, is deleted while Failed, or moves to another group (another code,
message, connection); every write path of the engine and of Django (saves, QuerySet.update,
cascading deletes) goes through it, and an append takes no lock that two workers could wait on
crosswise. `attention_fold` (run by the page before it reads, and by the sweep) consumes an
organisation's changes and recounts only the groups and documents they name, from the records
themselves: the counts are recounts, never running sums, so they cannot drift.

Folds of one organisation take turns (an advisory lock held to the commit): each one's recount
reads after the previous one's commit, so a later fold never writes older counts.
"""

from django.db import connection as db
from django.db import transaction

from synclog.models import EntryType, RecordStatus

# pg_advisory_xact_lock(FOLD_LOCK, org id): one fold at a time per organisation.
FOLD_LOCK = 1_300_009

_ENTRY_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE r.entry_type = '{entry_type.value}') AS n_{entry_type.value}"
    for entry_type in EntryType
)
_ENTRY_COLUMNS = ", ".join(f"n_{entry_type.value}" for entry_type in EntryType)
_ENTRY_UPDATES = ", ".join(
    f"n_{entry_type.value} = EXCLUDED.n_{entry_type.value}" for entry_type in EntryType
)

# The groups named by the changes, recounted from their Failed records (the attention index
# finds each group's records by connection, status, code and digest).
_RECOUNT_GROUPS = f"""
    WITH keys AS (
        SELECT DISTINCT * FROM unnest(%(connections)s::bigint[], %(codes)s::int[],
                                      %(digests)s::text[]) AS k(connection_id, code, digest)
    ), counted AS (
        SELECT k.connection_id, k.code, k.digest, count(*) AS count,
               count(DISTINCT r.document_id) AS document_count, {_ENTRY_COUNTS}
        FROM keys k
        JOIN synclog_syncrecord r
          ON r.org_id = %(org)s AND r.connection_id = k.connection_id
         AND r.status = {RecordStatus.FAILED} AND r.last_error_digest = k.digest
         AND (r.last_error_code = k.code OR (k.code = 0 AND r.last_error_code IS NULL))
        GROUP BY k.connection_id, k.code, k.digest
    ), emptied AS (
        DELETE FROM synclog_attentiongroupcount g
        USING keys k
        WHERE g.connection_id = k.connection_id AND g.code = k.code AND g.digest = k.digest
          AND g.org_id = %(org)s
          AND NOT EXISTS (SELECT 1 FROM counted c WHERE c.connection_id = k.connection_id
                          AND c.code = k.code AND c.digest = k.digest)
        RETURNING 1
    ), written AS (
        INSERT INTO synclog_attentiongroupcount
            (org_id, connection_id, code, digest, count, document_count, {_ENTRY_COLUMNS})
        SELECT %(org)s, connection_id, code, digest, count, document_count, {_ENTRY_COLUMNS}
        FROM counted ORDER BY connection_id, code, digest
        ON CONFLICT (connection_id, code, digest) DO UPDATE
        SET count = EXCLUDED.count, document_count = EXCLUDED.document_count, {_ENTRY_UPDATES}
        RETURNING (xmax = 0) AS created
    )
    SELECT (SELECT count(*) FROM written WHERE created) - (SELECT count(*) FROM emptied)
"""

# The documents named by the changes: kept if they still have a Failed record, dropped if not.
_RECOUNT_DOCUMENTS = f"""
    WITH present AS (
        SELECT DISTINCT document_id FROM synclog_syncrecord
        WHERE org_id = %(org)s AND document_id = ANY(%(documents)s::bigint[])
          AND status = {RecordStatus.FAILED}
    ), gone AS (
        DELETE FROM synclog_attentiondocument d
        WHERE d.document_id = ANY(%(documents)s::bigint[]) AND d.org_id = %(org)s
          AND d.document_id NOT IN (SELECT document_id FROM present)
        RETURNING 1
    ), added AS (
        INSERT INTO synclog_attentiondocument (document_id, org_id)
        SELECT document_id, %(org)s FROM present ORDER BY document_id
        ON CONFLICT (document_id) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM added) - (SELECT count(*) FROM gone)
"""


def attention_fold(*, org_id: int) -> int:
    """Fold an organisation's pending changes into its maintained counts; how many were folded
    (1 query when there are none)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM synclog_attentionchange WHERE org_id = %s)", [org_id]
        )
        if not cursor.fetchone()[0]:
            return 0
    with transaction.atomic(), db.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FOLD_LOCK, org_id])
        cursor.execute(
            "DELETE FROM synclog_attentionchange WHERE org_id = %s "
            "RETURNING connection_id, code, digest, document_id",
            [org_id],
        )
        changes = cursor.fetchall()
        if not changes:  # folded by another request meanwhile
            return 0
        groups = sorted({(c, code, digest) for c, code, digest, _ in changes})
        cursor.execute(
            _RECOUNT_GROUPS,
            {
                "org": org_id,
                "connections": [g[0] for g in groups],
                "codes": [g[1] for g in groups],
                "digests": [g[2] for g in groups],
            },
        )
        new_groups = cursor.fetchone()[0]
        documents = sorted({document for *_, document in changes})
        cursor.execute(_RECOUNT_DOCUMENTS, {"org": org_id, "documents": documents})
        new_documents = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO synclog_attentiontotal (org_id, documents, groups, changes_folded) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (org_id) DO UPDATE SET "
            "documents = synclog_attentiontotal.documents + EXCLUDED.documents, "
            "groups = synclog_attentiontotal.groups + EXCLUDED.groups, "
            "changes_folded = synclog_attentiontotal.changes_folded + EXCLUDED.changes_folded",
            [org_id, new_documents, new_groups, len(changes)],
        )
    return len(changes)


def attention_changes_from_records(*, org_id: int) -> int:
    """Every Failed record of the organisation as a change to fold: for rows written with the
    triggers off (the bench's bulk loader runs with session_replication_role = replica)."""
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO synclog_attentionchange "
            "(org_id, connection_id, code, digest, document_id) "
            "SELECT org_id, connection_id, coalesce(last_error_code, 0), last_error_digest, "
            "document_id FROM synclog_syncrecord WHERE org_id = %s AND status = %s",
            [org_id, RecordStatus.FAILED],
        )
        return cursor.rowcount


def attention_fold_all() -> int:
    """Fold every organisation's pending changes (the sweep: deleted organisations' too)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT DISTINCT org_id FROM synclog_attentionchange")
        org_ids = [row[0] for row in cursor.fetchall()]
    return sum(attention_fold(org_id=org_id) for org_id in org_ids)
