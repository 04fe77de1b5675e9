"""The large pages read through their indexes (figure 3 of issue 7: 100,000 documents).

Each test runs a page, takes the query that used to read every matching record, and asks
PostgreSQL whether the page's index serves it: its plan, with sequential scans, bitmap scans and
sorts priced out (on a test's few rows it would rightly read the table whole), must bound a scan
of that index by the page's filter and return the rows in the page's order without a sort.
"""

import datetime

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import Connection, Provider
from synclog.models import EntryType, RecordStatus, StatusCode, SyncRecord, SyncRun, SyncRunItem
from syncsvc.paging import COUNT_LIMIT
from tests.factories import DocumentFactory

PRICED_OUT = ("enable_seqscan", "enable_bitmapscan", "enable_sort")


def plan(sql: str, *, table: str, index: str) -> str:
    """EXPLAIN of `sql` with `index` the only index of `table` besides its constraints'."""
    return plan_with_indexes(sql, table=table, keep={index})


def plan_with_indexes(sql: str, *, table: str, keep: set[str]) -> str:
    """EXPLAIN of `sql` with `keep` the only indexes of `table` besides its constraints'.

    On a test's few rows the planner's choice among indexes is a tie that any statistics
    decide; the question here is whether these indexes can serve the query (its filter as the
    scan's bounds, its order without a sort). The other indexes are dropped inside the test's
    transaction, which puts them back.
    """
    assert db.in_atomic_block, "the dropped indexes come back with the test's rollback"
    with db.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT i.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """,
            [table, list(keep)],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        for setting in PRICED_OUT:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            for setting in PRICED_OUT:
                cursor.execute(f"RESET {setting}")


def page_queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(db) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def the_query(queries: list[str], *parts: str) -> str:
    (sql,) = [sql for sql in queries if all(part in sql for part in parts)]
    return sql


def index_conditions(explained: str) -> list[str]:
    return [line.strip() for line in explained.splitlines() if "Index Cond:" in line]


RECORDS = "synclog_syncrecord"
ATTENTION_INDEX = "syncrecord_attention_group_idx"


@pytest.fixture
def xero(org):
    return Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")


def failed(connection, *, code=StatusCode.CONFIGURATION, message="Category Travel is unmapped."):
    return SyncRecord.objects.create(
        org=connection.org,
        connection=connection,
        document=DocumentFactory(org=connection.org, status="approved"),
        entry_type=EntryType.BILL,
        status=RecordStatus.FAILED,
        last_error_code=code,
        last_error_message=message,
    )


def test_requires_attention_groups_by_the_stored_digest_and_previews_from_the_index(
    admin_client, xero
):
    for _ in range(3):
        failed(xero)
    failed(xero, code=StatusCode.DATA_PUSH, message="Contact archived.")
    queries = page_queries(admin_client, reverse("synclog:attention"))
    # The digest is the record's column, never computed per record and request.
    assert not [sql for sql in queries if "MD5(" in sql.upper()]
    explained = plan(the_query(queries, "UNION ALL"), table=RECORDS, index=ATTENTION_INDEX)
    # Each group's newest records: a bounded scan of the attention index in its order.
    conditions = index_conditions(explained)
    assert len(conditions) == 2
    assert all("last_error_digest =" in condition for condition in conditions)
    assert ATTENTION_INDEX in explained
    assert "Sort" not in explained


def test_a_cause_s_page_reads_its_records_in_the_attention_index_order(admin_client, xero):
    record = failed(xero)
    url = reverse(
        "synclog:attention-group",
        args=[xero.pk, record.last_error_code, record.last_error_digest],
    )
    queries = page_queries(admin_client, url)
    sql = the_query(queries, '"id" AS "pk" FROM "synclog_syncrecord"', "LIMIT")
    explained = plan(sql, table=RECORDS, index=ATTENTION_INDEX)
    assert ATTENTION_INDEX in explained
    assert "last_error_digest =" in index_conditions(explained)[0]
    assert "Sort" not in explained


def test_a_run_s_items_are_paged_from_the_run_s_own_index_without_a_join(admin_client, org, xero):
    run = SyncRun.objects.create(org=org, connection=xero, trigger="bulk")
    for _ in range(3):
        SyncRunItem.objects.create(run=run, record=failed(xero))
    queries = page_queries(admin_client, reverse("synclog:health-run", args=[run.public_id]))
    sql = the_query(queries, '"record_id" FROM "synclog_syncrunitem"', "LIMIT")
    explained = plan(sql, table="synclog_syncrunitem", index="runitem_unique_record")
    assert "JOIN" not in sql
    assert "runitem_unique_record" in explained
    assert "Sort" not in explained


@pytest.mark.parametrize("status", ["complete", "failed"])
def test_the_history_date_range_bounds_the_history_index_scan(admin_client, xero, status):
    failed(xero)
    SyncRecord.objects.create(
        org=xero.org,
        connection=xero,
        document=DocumentFactory(org=xero.org, status="approved"),
        entry_type=EntryType.BILL,
        status=RecordStatus.COMPLETE,
        synced_at=timezone.now() - datetime.timedelta(days=2),
    )
    url = reverse("synclog:history") + f"?tab=bill&status={status}"
    queries = page_queries(admin_client, url)
    for sql in (
        # The pager's count, bounded (syncsvc.paging.COUNT_LIMIT).
        the_query(queries, "COUNT(*)", 'FROM "synclog_syncrecord"', f"LIMIT {COUNT_LIMIT + 1}"),
        the_query(
            [sql for sql in queries if "COUNT(*)" not in sql],
            '"id" AS "pk" FROM "synclog_syncrecord"',
            "LIMIT",
        ),
    ):
        explained = plan(sql, table=RECORDS, index="syncrecord_history_idx")
        assert "syncrecord_history_idx" in explained
        (condition,) = index_conditions(explained)
        # Both ends of the range on the sync-date expression the index is built on.
        assert condition.count("CASE WHEN") == 2
        assert ">=" in condition and "<" in condition.replace("<=", "")
        assert "Filter:" not in explained
        assert "Sort" not in explained


def test_the_quota_meter_counts_the_connection_s_queue_from_the_queue_index_alone(
    admin_client, org, xero
):
    run = SyncRun.objects.create(org=org, connection=xero, trigger="bulk")
    for trigger in ("manual", "bulk", "bulk"):
        SyncRecord.objects.create(
            org=org,
            connection=xero,
            document=DocumentFactory(org=org, status="approved"),
            entry_type=EntryType.BILL,
            status=RecordStatus.PENDING,
            pending_trigger=trigger,
        )
    queries = page_queries(admin_client, reverse("synclog:health-run", args=[run.public_id]))
    sql = the_query(queries, '"pending_trigger"', "GROUP BY")
    explained = plan(sql, table=RECORDS, index="syncrecord_queue_idx")
    # No row read: the index carries the trigger, and the count is COUNT(*), not of the id.
    assert "Index Only Scan using syncrecord_queue_idx" in explained
    assert "status = 0" in index_conditions(explained)[0]


def test_the_connection_page_counts_the_held_records_from_their_own_index(admin_client, xero):
    """Among every data push failure (the same code), only the few held for the lock date."""
    failed(xero, code=StatusCode.DATA_PUSH, message="Locked until 2026-06-30: held.")
    failed(xero, code=StatusCode.DATA_PUSH, message="The ledger refused the entry.")
    queries = page_queries(admin_client, reverse("integrations:detail", args=[xero.pk]))
    sql = the_query(queries, "COUNT(*)", "'Locked until %'")
    explained = plan(sql, table=RECORDS, index="syncrecord_lock_held_idx")
    assert "Index Only Scan using syncrecord_lock_held_idx" in explained
    assert "Filter" not in explained
