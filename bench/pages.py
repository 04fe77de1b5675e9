"""Figures 3 and 4: page latency over a large sync log, and the Excel export of the Sync History.

    python -m bench.pages                                    # a smoke-sized run
    python -m bench.pages --documents 100000 --attempts 1000000 --export-rows 100000  # the issue

Data: a bulk loader (INSERT ... SELECT over generate_series, in PostgreSQL itself) fills one
organisation with `--documents` documents (6 in 7 bills, the rest invoices; 1 to 3 lines each;
3 in 10 paid, with a payment), a sync record per document and per payment on one Xero connection
(90% Complete, 6% Failed with the engine's kinds of errors, 4% Pending; dated over the last 180
days), runs (one per 20 documents: mostly one-document re-syncs, every 50th a bulk run of 200,
plus one bulk run over a tenth of the bills) with their items, and `--attempts` sync attempts
with their logged HTTP calls: `--hot-documents` bills get `--hot-attempts` attempts each, the rest
are spread evenly over every record. A neighbour organisation gets a fifth of all that (the
tenant scoping must keep it out), and an export organisation gets `--export-rows` Complete bills.
Then ANALYZE.

Figure 3: the Django test client, signed in as the organisation's admin, GETs each page
`--warmup` times, then `--requests` times timed in-process (wall time of `client.get`, rendering
included); p50 and p95 by nearest rank. The query count is from one more request under
CaptureQueriesContext. Pages: Sync History (each tab with its defaults: Failed, the last month;
Bills Complete in the last month, over all dates, and its last page; Bills Pending), Requires
attention and its largest group, Sync Health (the dashboard with its default 7 days and over all
dates, the big bulk run's page and its failed items), and the Integrations tab of a hot bill.

Figure 4: the Excel export of `--export-rows` Complete bills (tab Bills, status Complete, no date
bounds) in a child process (the test client again; the whole response is read): wall seconds, and
the child's peak RSS (ru_maxrss of the process: Python, Django and the export together; the
baseline before the request is printed too). The database server's memory is not in it.

Goals (issue 7): p95 < 150 ms per page; the export < 20 s and < 250 MB. A missed goal does not
change the exit status (0 unless an error); `--explain missed` (the default) prints EXPLAIN
ANALYZE of the slowest query of every page that misses, `--profile NAME` a cProfile of a page.
DEBUG is on in this process (the harness's setting for the test client), so Django keeps its
query log; that costs a few microseconds per query.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid

from bench.harness import ROOT, Bench, add_common_arguments, fmt, log, proc_cpu_seconds

PAGE_GOAL_MS = 150.0
EXPORT_GOAL_SECONDS = 20.0
EXPORT_GOAL_MB = 250.0
DAYS = 180  # records are dated over the last DAYS days
# Tables whose secondary indexes the loader drops while it fills them (see bulk_mode).
BULK_TABLES = (
    "documents_document",
    "documents_documentline",
    "documents_payment",
    "synclog_syncrecord",
    "synclog_syncrunitem",
    "synclog_syncattempt",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--attempts", type=int, default=20000)
    parser.add_argument("--export-rows", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--hot-documents", type=int, default=20)
    parser.add_argument("--hot-attempts", type=int, default=120)
    parser.add_argument(
        "--pages", default="", help="comma-separated page names to time (default: all)"
    )
    parser.add_argument(
        "--explain",
        choices=("missed", "all", "none"),
        default="missed",
        help="print EXPLAIN ANALYZE of each page's slowest query (default: pages missing the goal)",
    )
    parser.add_argument("--profile", default="", metavar="PAGE", help="cProfile one request")
    parser.add_argument("--no-export", dest="export", action="store_false")
    parser.add_argument(
        "--keep-database",
        default="",
        metavar="NAME",
        help="load into database NAME and keep it; a later run with the same NAME and sizes "
        "migrates it and measures without loading again",
    )
    parser.add_argument("--export-child", default="", help=argparse.SUPPRESS)
    add_common_arguments(parser)
    return parser.parse_args(argv)


# --- the bulk loader ---------------------------------------------------------------------------

# (status code, message, explanation, hint) of failed records; %s in a message is the number.
ERRORS = [
    (
        4000,
        "Category Travel (420) has no Xero mapping.",
        "Category Travel (420) is not mapped to anything in {conn}, so the entry cannot be built.",
        "Choose it in Integrations › {conn} › Mappings, then re-sync.",
    ),
    (
        5130,
        "A validation exception occurred: The Contact 'Northwind Traders' is archived.",
        "The ledger refused the entry: its contact is archived in the ledger.",
        "Restore the contact in the ledger, or choose another contact, then re-sync.",
    ),
    (
        5000,
        "Xero answered HTTP 503 Service Unavailable.",
        "The ledger had a temporary problem and the retries ran out.",
        "Re-sync once the ledger answers again.",
    ),
    (
        5080,
        "The ledger already holds 2 entries with reference ls-{org}-NNN.",
        "The ledger already holds more than one entry for this document, so ledgersync does "
        "not know which one is ours.",
        "Delete or void the extra entries in the ledger, then re-sync; or mark this record "
        "Complete.",
    ),
    (
        5130,
        "A validation exception occurred: Invoice # %s has already been used.",
        "The ledger refused the entry: its number is already used by another entry.",
        "Change the number in the ledger or here, then re-sync.",
    ),
    (
        5120,
        "Could not read the ledger's answer: unexpected end of JSON input.",
        "The ledger's answer could not be understood; the entry may or may not exist.",
        "Re-sync: ledgersync searches the ledger before creating the entry again.",
    ),
]

REQUEST_BODY = (
    '{"Invoices":[{"Type":"ACCPAY","Contact":{"ContactID":"%s"},"InvoiceNumber":"%s",'
    '"Reference":"%s","Url":"https://ledgersync.example/d/%s?ref=%s","Date":"%s",'
    '"DueDate":"%s","CurrencyCode":"USD","Status":"AUTHORISED","LineAmountTypes":"Exclusive",'
    '"LineItems":[{"Description":"Services","Quantity":1.0,"UnitAmount":%s,"AccountCode":"429"}]}]}'
)
RESPONSE_OK = (
    '{"Id":"%s","Status":"OK","ProviderName":"ledgersync","Invoices":[{"InvoiceID":"%s",'
    '"InvoiceNumber":"%s","Status":"AUTHORISED","Total":%s,"AmountDue":%s,"CurrencyCode":"USD"}]}'
)


@contextlib.contextmanager
def bulk_mode(cursor, tables: tuple[str, ...] = ("synclog_syncattempt",)):
    """Load fast: no foreign-key triggers (the loader's rows are consistent by construction;
    `session_replication_role` needs a superuser, as on this bench's server), and the secondary
    indexes of `tables` dropped during the load and built again after it in one pass."""
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("SET maintenance_work_mem = '256MB'")
    _model_defaults_in_the_database(cursor, tables)
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))",
        [list(tables)],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = DEFAULT")
        log(f"  {len(indexes)} indexes built again in {time.perf_counter() - started:.1f}s")


def _model_defaults_in_the_database(cursor, tables: tuple[str, ...]) -> None:
    """Give the columns of `tables` the defaults their Django fields have, in this bench's own
    database: the loader's INSERTs name only the columns it fills, and a field added later
    with a Python default (and no database default) would otherwise fail them as NULL."""
    from django.apps import apps
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            if field.null or field.default is NOT_PROVIDED or field.db_default is not NOT_PROVIDED:
                continue
            value = field.get_db_prep_save(field.get_default(), connection=connection)
            cursor.execute(
                f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}" '
                "SET DEFAULT %s",
                [value],
            )


def _run(cursor, sql: str, params: dict, what: str) -> int:
    started = time.perf_counter()
    cursor.execute(sql, params)
    log(f"  {what}: {cursor.rowcount:,} rows in {time.perf_counter() - started:.1f}s")
    return cursor.rowcount


def load_org(
    *,
    org,
    connection,
    user,
    category,
    documents: int,
    attempts: int,
    hot_documents: int = 0,
    hot_attempts: int = 0,
    invoice_every: int = 7,
    paid_per_10: int = 3,
    complete_pct: int = 90,
    failed_pct: int = 6,
    runs: bool = True,
) -> dict:
    """Fill one organisation in SQL: documents, lines, payments, records, runs, items, attempts.

    Every row derives from its id through a multiplicative hash, so the data is mixed but the same
    on every run. Returns what the pages need (a hot document, the big run, the largest group)."""
    from django.db import connection as db
    from django.utils import timezone

    from documents.models import Contact, ContactKind

    contacts = Contact.objects.bulk_create(
        Contact(
            org=org,
            name=f"{'Customer' if i % 5 == 0 else 'Supplier'} {i:04d} {org.name} Pty Ltd",
            kind=ContactKind.CUSTOMER if i % 5 == 0 else ContactKind.VENDOR,
        )
        for i in range(1, max(50, min(600, documents // 100)) + 1)
    )
    vendors = [c.pk for c in contacts if c.kind == ContactKind.VENDOR]
    customers = [c.pk for c in contacts if c.kind == ContactKind.CUSTOMER]
    p = {
        "org": org.pk,
        "conn": connection.pk,
        "conn_name": connection.name,
        "user": user.pk,
        "cat": category.pk,
        "now": timezone.now(),
        "n": documents,
        "vendors": vendors,
        "customers": customers,
        "inv_every": invoice_every or documents + 1,
        "paid": paid_per_10,
        "complete": complete_pct,
        "failed": complete_pct + failed_pct,
        "minutes": DAYS * 24 * 60,
    }
    hash_of = "mod({0} * 2654435761, 1000003)"  # a well-mixed 0..1000002 from an id
    with db.cursor() as cursor, bulk_mode(cursor, BULK_TABLES):
        _run(
            cursor,
            """
            INSERT INTO documents_document (org_id, kind, number, contact_id, issue_date, due_date,
                currency, total, description, status, amount_paid, approved_at, marked_paid,
                created_at, updated_at, approved_by_id, category_id, created_by_id)
            SELECT %(org)s, x.kind, x.prefix || lpad(i::text, 7, '0'),
                CASE WHEN x.kind = 'invoice'
                     THEN (%(customers)s::bigint[])[1 + mod(i * 31, cardinality(%(customers)s))]
                     ELSE (%(vendors)s::bigint[])[1 + mod(i * 17, cardinality(%(vendors)s))] END,
                x.issue, x.issue + 30, 'USD', x.total, '',
                CASE WHEN x.paid THEN 'paid' ELSE 'approved' END,
                CASE WHEN x.paid THEN x.total ELSE 0 END,
                %(now)s - make_interval(days => x.age), false,
                %(now)s - make_interval(days => x.age), %(now)s - make_interval(days => x.age),
                %(user)s, %(cat)s, %(user)s
            FROM generate_series(1, %(n)s) i
            CROSS JOIN LATERAL (SELECT
                CASE WHEN mod(i, %(inv_every)s) = 0 THEN 'invoice' ELSE 'bill' END AS kind,
                CASE WHEN mod(i, %(inv_every)s) = 0 THEN 'INV-' ELSE 'B-' END AS prefix,
                mod(i * 13, 200) AS age,
                (%(now)s::date - mod(i * 13, 200)) AS issue,
                round(50 + mod(i::bigint * 7919, 500000) / 100.0, 2) AS total,
                mod(i * 7, 10) < %(paid)s AS paid) x
            """,
            p,
            "documents",
        )
        _run(
            cursor,
            """
            INSERT INTO documents_documentline (document_id, position, description, quantity,
                unit_amount, amount, category_id)
            SELECT d.id, pos, 'Services, line ' || (pos + 1), 1,
                round(d.total / (1 + mod(d.id, 3)), 2), round(d.total / (1 + mod(d.id, 3)), 2),
                %(cat)s
            FROM documents_document d CROSS JOIN LATERAL generate_series(0, mod(d.id, 3)::int) pos
            WHERE d.org_id = %(org)s
            """,
            p,
            "document lines",
        )
        _run(
            cursor,
            """
            INSERT INTO documents_payment (org_id, document_id, amount, paid_at, reference,
                bank_account, created_at, created_by_id)
            SELECT %(org)s, d.id, d.total, d.issue_date + 10, 'PMT-' || d.id, 'Operating account',
                d.created_at, %(user)s
            FROM documents_document d WHERE d.org_id = %(org)s AND d.status = 'paid'
            """,
            p,
            "payments",
        )
        errors = [
            (
                code,
                message.replace("{org}", str(org.pk)),
                explanation.replace("{conn}", connection.name),
                hint.replace("{conn}", connection.name),
            )
            for code, message, explanation, hint in ERRORS
        ]
        p.update(
            codes=[e[0] for e in errors],
            messages=[e[1] for e in errors],
            explanations=[e[2] for e in errors],
            hints=[e[3] for e in errors],
        )
        h = hash_of.format("s.key")
        _run(
            cursor,
            f"""
            INSERT INTO synclog_syncrecord (org_id, connection_id, entry_type, document_id,
                payment_id, status, external_id, external_number, synced_amount, synced_at,
                payload_hash, booked, uploaded_attachment_ids, version, pending_reason,
                pending_trigger, unknown_outcome, last_error_code, last_error_message,
                last_error_explanation, last_error_hint, attempt_count, next_retry_at,
                enqueued_at, claimed_by, claimed_until, created_at, updated_at)
            SELECT %(org)s, %(conn)s, s.entry_type, s.document_id, s.payment_id, v.status,
                CASE WHEN v.status = 1 OR v.was_synced THEN md5(s.key::text)::uuid::text
                     ELSE '' END,
                CASE WHEN v.status = 1 OR v.was_synced THEN s.number ELSE '' END,
                CASE WHEN v.status = 1 OR v.was_synced
                     THEN s.amount + CASE WHEN mod({h}, 50) = 0 THEN 1 ELSE 0 END END,
                CASE WHEN v.status = 1 THEN v.at
                     WHEN v.was_synced THEN v.at - interval '3 days' END,
                CASE WHEN v.status = 1 OR v.was_synced THEN md5(s.key::text || 'p') ELSE '' END,
                false, '[]', 1 + mod({h}, 3),
                CASE WHEN v.status = 0 THEN 'Document changed' ELSE '' END, 'auto', false,
                CASE WHEN v.status = 2 THEN (%(codes)s::int[])[v.e] END,
                CASE WHEN v.status = 2 THEN replace((%(messages)s::text[])[v.e], '%%s', s.number)
                     ELSE '' END,
                CASE WHEN v.status = 2 THEN (%(explanations)s::text[])[v.e] ELSE '' END,
                CASE WHEN v.status = 2 THEN (%(hints)s::text[])[v.e] ELSE '' END,
                CASE WHEN v.status = 2 THEN 1 + mod({h}, 5) ELSE 0 END,
                NULL, CASE WHEN v.status = 0 THEN v.at END, '', NULL,
                v.at - interval '1 hour', v.at + interval '2 seconds'
            FROM (
                SELECT d.id AS key, d.kind AS entry_type, d.id AS document_id,
                    NULL::bigint AS payment_id, d.number, d.total AS amount
                FROM documents_document d WHERE d.org_id = %(org)s
                UNION ALL
                SELECT 1000000000 + y.id, d.kind || '_payment', d.id, y.id, y.reference, y.amount
                FROM documents_payment y JOIN documents_document d ON d.id = y.document_id
                WHERE y.org_id = %(org)s
            ) s
            CROSS JOIN LATERAL (SELECT
                CASE WHEN mod({h}, 100) < %(complete)s THEN 1
                     WHEN mod({h}, 100) < %(failed)s THEN 2 ELSE 0 END AS status,
                1 + mod({h} / 100, cardinality(%(codes)s)) AS e,
                mod({h}, 3) = 0 AS was_synced,
                CASE WHEN mod({h}, 100) >= %(failed)s
                     THEN %(now)s - make_interval(mins => (mod({h}, 120) + 1)::int)
                     ELSE %(now)s - make_interval(mins => (mod({h} * 7, %(minutes)s) + 1)::int)
                END AS at
            ) v
            """,
            p,
            "sync records",
        )
        out = {}
        if runs:
            out.update(_load_runs(cursor, p, documents))
        out.update(_load_attempts(cursor, p, attempts, hot_documents, hot_attempts))
    return out


def _load_runs(cursor, p: dict, documents: int) -> dict:
    """One run per 20 documents (a re-sync of one document; every 50th a bulk run of 200, every
    7th an API sync), the newest a few minutes old, plus one bulk run over a tenth of the bills."""
    from synclog.models import SyncRun

    p = {**p, "runs": max(10, documents // 20)}
    _run(
        cursor,
        """
        INSERT INTO synclog_syncrun (org_id, public_id, connection_id, trigger, actor_id,
            actor_label, status_code, started_at, finished_at, total, pushed, nothing_to_push,
            failed, notes)
        SELECT %(org)s, gen_random_uuid(), %(conn)s,
            CASE WHEN mod(k, 50) = 0 THEN 'bulk' WHEN mod(k, 7) = 0 THEN 'api' ELSE 'manual' END,
            %(user)s, '', CASE WHEN k = 1 THEN 1000 ELSE 2000 END, x.at,
            CASE WHEN k = 1 THEN NULL
                 ELSE x.at + make_interval(secs => CASE WHEN mod(k, 50) = 0 THEN 40 ELSE 2 END)
            END, 0, 0, 0, 0, ''
        FROM generate_series(1, %(runs)s) k
        CROSS JOIN LATERAL (SELECT %(now)s - make_interval(
            mins => ((k - 1) * (%(minutes)s / %(runs)s) + 1)::int) AS at) x
        """,
        p,
        "runs",
    )
    big = SyncRun.objects.create(
        org_id=p["org"],
        connection_id=p["conn"],
        trigger="bulk",
        actor_id=p["user"],
        status_code=2000,
        started_at=p["now"] - datetime.timedelta(hours=2),
        finished_at=p["now"] - datetime.timedelta(hours=1, minutes=40),
    )
    p["big"] = big.pk
    item_values = """
        CASE r.status WHEN 1 THEN 'pushed' WHEN 2 THEN 'failed' ELSE 'pending' END,
        CASE r.status WHEN 1 THEN 2000 WHEN 2 THEN r.last_error_code END,
        CASE WHEN r.status <> 0 THEN ru.finished_at END
    """
    _run(
        cursor,
        f"""
        WITH r AS (
            SELECT id, status, last_error_code, row_number() OVER (ORDER BY id) - 1 AS n
            FROM synclog_syncrecord WHERE org_id = %(org)s
        ), ru AS (
            SELECT id, trigger, finished_at, row_number() OVER (ORDER BY id) AS k
            FROM synclog_syncrun WHERE org_id = %(org)s AND id <> %(big)s
        )
        INSERT INTO synclog_syncrunitem (run_id, record_id, outcome, status_code, finished_at)
        SELECT ru.id, r.id, {item_values}
        FROM ru CROSS JOIN LATERAL generate_series(
            0, CASE WHEN ru.trigger = 'bulk' THEN 199 ELSE 0 END) m
        JOIN r ON r.n = mod(ru.k * 7919 + m, (SELECT count(*) FROM r))
        """,
        p,
        "run items",
    )
    _run(
        cursor,
        f"""
        INSERT INTO synclog_syncrunitem (run_id, record_id, outcome, status_code, finished_at)
        SELECT %(big)s, r.id, {item_values}
        FROM synclog_syncrecord r JOIN synclog_syncrun ru ON ru.id = %(big)s
        WHERE r.org_id = %(org)s AND r.entry_type = 'bill' AND mod(r.id, 10) = 0
        """,
        p,
        "items of the big bulk run",
    )
    _run(
        cursor,
        """
        UPDATE synclog_syncrun ru SET total = x.total, pushed = x.pushed, failed = x.failed,
            status_code = CASE WHEN ru.finished_at IS NULL THEN 1000
                               WHEN x.failed > 0 THEN 5130 ELSE 2000 END
        FROM (SELECT run_id, count(*) AS total,
                count(*) FILTER (WHERE outcome = 'pushed') AS pushed,
                count(*) FILTER (WHERE outcome = 'failed') AS failed
              FROM synclog_syncrunitem GROUP BY run_id) x
        WHERE ru.id = x.run_id AND ru.org_id = %(org)s
        """,
        p,
        "run totals",
    )
    return {"big_run": big.pk}


def _load_attempts(cursor, p: dict, attempts: int, hot_documents: int, hot_attempts: int) -> dict:
    """`hot_documents` bills' records get `hot_attempts` attempts each; the rest of `attempts`
    go evenly to every record. The newest attempt of a record agrees with its status; older ones
    are updates, no-ops and retried 503s and 429s. An attempt of a record in a run belongs to it."""
    from synclog.models import SyncRecord

    hot = list(
        SyncRecord.objects.filter(org_id=p["org"], entry_type="bill")
        .exclude(status=0)
        .order_by("id")
        .values_list("id", "document_id")[: max(0, hot_documents)]
    )
    hot_total = min(len(hot) * hot_attempts, attempts)
    p = {
        **p,
        "hot": [record_id for record_id, _ in hot],
        "hot_attempts": hot_attempts if hot else 0,
        "rest": attempts - hot_total,
        "request": REQUEST_BODY,
        "response": RESPONSE_OK,
    }
    if attempts <= 0:
        return {"hot_document": hot[0][1] if hot else None}
    _run(
        cursor,
        """
        WITH r AS (
            SELECT s.id, s.status, s.updated_at, s.last_error_code, s.last_error_message,
                s.last_error_explanation, s.last_error_hint, s.external_id, d.number,
                d.issue_date, d.due_date, d.total, d.contact_id,
                row_number() OVER (ORDER BY s.id) - 1 AS n
            FROM synclog_syncrecord s JOIN documents_document d ON d.id = s.document_id
            WHERE s.org_id = %(org)s
        ), total AS (SELECT count(*) AS c FROM r),
        ir AS (
            SELECT i.record_id, i.run_id, ru.trigger, ru.started_at,
                row_number() OVER (PARTITION BY i.record_id ORDER BY ru.started_at DESC) - 1 AS q
            FROM synclog_syncrunitem i JOIN synclog_syncrun ru ON ru.id = i.run_id
            WHERE ru.org_id = %(org)s
        ), a AS (
            SELECT r.*, j / total.c AS k, j AS j
            FROM generate_series(0, %(rest)s - 1) j CROSS JOIN total
            JOIN r ON r.n = mod(j, total.c)
            UNION ALL
            SELECT r.*, k, 2000000000 + r.n * 10000 + k
            FROM r CROSS JOIN generate_series(0, %(hot_attempts)s - 1) k
            WHERE r.id = ANY(%(hot)s::bigint[])
        )
        INSERT INTO synclog_syncattempt (org_id, record_id, run_id, trigger, actor_id, reason,
            operation, outcome, status_code, error_message, explanation, hint, http_status,
            calls, duration_ms, started_at, finished_at, error_detail)
        SELECT %(org)s, a.id, ir.run_id, coalesce(ir.trigger, 'auto'),
            CASE WHEN ir.trigger IN ('manual', 'bulk') THEN %(user)s END,
            CASE WHEN ir.run_id IS NULL THEN 'Document changed' ELSE '' END,
            o.operation, o.outcome, o.code, o.message, o.explanation, o.hint, o.http,
            CASE WHEN o.operation = 'noop' THEN '[]'::jsonb
            ELSE jsonb_build_array(jsonb_build_object(
                'method', 'PUT',
                'url', 'https://api.xero.com/api.xro/2.0/Invoices?summarizeErrors=false',
                'http_status', o.http, 'duration_ms', 80 + mod(a.j * 13, 900),
                'request_body', format(%(request)s, md5(a.contact_id::text)::uuid, a.number,
                    'ls-' || %(org)s || '-' || a.number, a.number, a.number, a.issue_date,
                    a.due_date, a.total),
                'response_body', CASE WHEN o.outcome = 'success'
                    THEN format(%(response)s, md5(a.j::text)::uuid, a.external_id, a.number,
                        a.total, a.total)
                    ELSE jsonb_build_object('ErrorNumber', 10, 'Type', 'ValidationException',
                        'Message', o.message)::text END,
                'rate_limit', jsonb_build_object('X-MinLimit-Remaining', mod(a.j, 60)),
                'error', ''))
            END,
            80 + mod(a.j * 13, 900), o.at,
            o.at + make_interval(secs => 0.08 + mod(a.j, 9) / 10.0), '{}'::jsonb
        FROM a
        LEFT JOIN ir ON ir.record_id = a.id AND ir.q = a.k
        CROSS JOIN LATERAL (SELECT
            coalesce(ir.started_at + interval '3 seconds',
                a.updated_at - make_interval(hours => (a.k * 6 + 1)::int)) AS at,
            CASE WHEN a.k = 0 THEN a.status WHEN mod(a.j * 31, 10) < 3 THEN 2 ELSE 1 END AS st,
            mod(a.j * 31, 10) AS roll) x
        CROSS JOIN LATERAL (SELECT x.at,
            CASE WHEN x.st = 2 OR (x.st = 0 AND mod(a.j, 2) = 0) THEN 'failed' ELSE 'success' END
                AS outcome,
            CASE WHEN x.st IN (0, 2) THEN 'none' WHEN x.roll = 9 THEN 'noop' WHEN a.k > 0
                THEN 'update' ELSE 'create' END AS operation,
            CASE WHEN x.st = 1 AND x.roll = 9 THEN 2040 WHEN x.st = 1 THEN 2000
                WHEN a.k = 0 AND a.status = 2 THEN a.last_error_code ELSE 5000 END AS code,
            CASE WHEN x.st = 1 THEN ''
                WHEN a.k = 0 AND a.status = 2 THEN a.last_error_message
                WHEN x.roll = 2 THEN 'Xero answered HTTP 429 Too Many Requests.'
                ELSE 'Xero answered HTTP 503 Service Unavailable.' END AS message,
            CASE WHEN a.k = 0 AND a.status = 2 THEN a.last_error_explanation
                WHEN x.st <> 1 THEN 'The ledger had a temporary problem.' ELSE '' END
                AS explanation,
            CASE WHEN a.k = 0 AND a.status = 2 THEN a.last_error_hint
                WHEN x.st <> 1 THEN 'ledgersync retries by itself.' ELSE '' END AS hint,
            CASE WHEN x.st = 1 THEN 200 WHEN a.k = 0 AND a.status = 2 THEN 400
                WHEN x.roll = 2 THEN 429 ELSE 503 END AS http
        ) o
        """,
        p,
        "sync attempts",
    )
    return {"hot_document": hot[0][1] if hot else None}


def make_org(name: str, *, connection_name: str):
    """An organisation with an admin (who may export), a category and a Xero connection. The
    connection is a plain row: no ledger is called here."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Organization, Role
    from documents.models import Category
    from integrations.models import Connection, Provider

    slug = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    org = Organization.objects.create(name=name, slug=slug, currency="USD")
    user = get_user_model().objects.create_user(username=f"admin-{slug}", password=uuid.uuid4().hex)
    Membership.objects.create(user=user, org=org, role=Role.ADMIN, can_export=True)
    category = Category.objects.create(org=org, name="Office", code="429")
    connection = Connection.objects.create(
        org=org,
        provider=Provider.XERO,
        name=connection_name,
        tenant_id=str(uuid.uuid4()),
        tenant_name=f"{name} (Xero)",
        settings={"payment_account_code": "090"},
    )
    return org, user, category, connection


def analyze() -> None:
    from django.db import connection as db

    started = time.perf_counter()
    with db.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    log(f"  analyze: {time.perf_counter() - started:.1f}s")


# --- figure 3 ----------------------------------------------------------------------------------


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def page_urls(org, info: dict) -> list[tuple[str, str]]:
    from urllib.parse import urlencode

    from django.urls import reverse

    from synclog.models import SyncRun
    from synclog.selectors import attention

    history = reverse("synclog:history")
    all_dates = {"date_from": "", "date_to": ""}
    pages = [
        ("sync-history bills (default: failed, last month)", history),
        ("sync-history invoices", f"{history}?tab=invoice"),
        ("sync-history bill payments", f"{history}?tab=bill_payment"),
        ("sync-history invoice payments", f"{history}?tab=invoice_payment"),
        ("sync-history bills complete, last month", f"{history}?tab=bill&status=complete"),
        (
            "sync-history bills complete, all dates",
            f"{history}?{urlencode({'tab': 'bill', 'status': 'complete', **all_dates})}",
        ),
        (
            # Past synclog.selectors.history.COUNT_LIMIT records the pages go by cursor, and the
            # last one is the oldest (below it, `oldest` is ignored: the first numbered page).
            "sync-history bills complete, all dates, oldest page",
            f"{history}?{urlencode({'tab': 'bill', 'status': 'complete', **all_dates})}&oldest=1",
        ),
        ("sync-history bills pending", f"{history}?tab=bill&status=pending"),
        ("requires attention", reverse("synclog:attention")),
    ]
    group = next(iter(attention.AttentionGroupRows(org=org)[0:1]), None)
    if group:
        pages.append(
            (
                "requires attention, largest group",
                reverse(
                    "synclog:attention-group",
                    args=[group["connection_id"], group["group_code"], group["group_digest"]],
                ),
            )
        )
    health = reverse("synclog:health")
    pages += [
        ("sync health (default: last 7 days)", health),
        ("sync health, all dates", f"{health}?{urlencode(all_dates)}"),
    ]
    if info.get("big_run"):
        run = SyncRun.objects.get(pk=info["big_run"])
        url = reverse("synclog:health-run", args=[run.public_id])
        pages += [
            (f"sync health run ({run.total:,} items)", url),
            ("sync health run, failed items", f"{url}?outcome=failed"),
        ]
    if info.get("hot_document"):
        pages.append(
            (
                "document integrations tab",
                reverse("synclog:document-integrations", args=[info["hot_document"]]),
            )
        )
    return pages


def explain(sql: str) -> str:
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def time_pages(args, org, user, info: dict) -> list[dict]:
    from django.db import connection as db
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    wanted = {name.strip() for name in args.pages.split(",") if name.strip()}
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    log(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 vCPUs shared)")
    figures = []
    for name, url in page_urls(org, info):
        if wanted and not any(w in name for w in wanted):
            continue
        for _ in range(args.warmup):
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")
        times = []
        cpu_started = time.process_time(), proc_cpu_seconds(backend)
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")
        app_cpu = (time.process_time() - cpu_started[0]) * 1000 / args.requests
        db_cpu = (proc_cpu_seconds(backend) - cpu_started[1]) * 1000 / args.requests
        with CaptureQueriesContext(db) as queries:
            client.get(url)
        query_ms = [float(q["time"]) * 1000 for q in queries.captured_queries]
        p50, p95 = statistics.median(times), nearest_rank(times, 0.95)
        met = p95 < PAGE_GOAL_MS
        slowest = max(range(len(query_ms)), key=query_ms.__getitem__) if query_ms else None
        cpu = app_cpu + db_cpu
        figures.append({"name": name, "p50": p50, "p95": p95, "queries": len(query_ms), "cpu": cpu})
        Bench.result(
            "3 page latency",
            f"{name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, {len(query_ms)} queries "
            f"(goal p95 < {PAGE_GOAL_MS:.0f} ms: {'met' if met else 'MISSED'})",
        )
        print(
            f"    {url}  cpu/request: app {app_cpu:.0f} ms + db {db_cpu:.0f} ms; sql "
            f"{sum(query_ms):.0f} ms in {len(query_ms)} queries"
            + (f", slowest {query_ms[slowest]:.0f} ms" if slowest is not None else ""),
            flush=True,
        )
        explaining = args.explain == "all" or (args.explain == "missed" and not met)
        if slowest is not None and explaining:
            sql = queries.captured_queries[slowest]["sql"]
            print(f"--- slowest query of {name} ---\n{sql}\n{explain(sql)}\n---", flush=True)
        if args.profile and args.profile in name:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            client.get(url)
            profiler.disable()
            print(f"--- profile of {name} (timing inflated by profiling) ---")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    return figures


# --- figure 4 ----------------------------------------------------------------------------------


def export_url() -> str:
    from urllib.parse import urlencode

    from django.urls import reverse

    query = {"tab": "bill", "status": "complete", "date_from": "", "date_to": ""}
    return reverse("synclog:history-export") + "?" + urlencode(query)


def export_child(spec: str) -> int:
    """In a process of its own: the export as the user gets it, read to the end."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    params = json.loads(spec)
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(pk=params["user"]))
    client.get(reverse("synclog:history"))  # URLs, templates, the session: loaded
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    response = client.get(params["url"])
    size = sum(len(chunk) for chunk in response.streaming_content)
    response.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "EXPORT "
        + json.dumps(
            {
                "status": response.status_code,
                "bytes": size,
                "seconds": seconds,
                "peak_mb": peak,
                "baseline_mb": baseline,
            }
        ),
        flush=True,
    )
    return 0


def run_export(args, user, rows: int) -> dict:
    spec = json.dumps({"user": user.pk, "url": export_url()})
    done = subprocess.run(
        [sys.executable, "-m", "bench.pages", "--export-child", spec],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("EXPORT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the export child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    figures = json.loads(lines[-1][len("EXPORT ") :])
    if figures["status"] != 200:
        raise RuntimeError(f"the export answered {figures['status']}")
    met = figures["seconds"] < EXPORT_GOAL_SECONDS and figures["peak_mb"] < EXPORT_GOAL_MB
    Bench.result(
        "4 export",
        f"{rows} rows in {fmt(figures['seconds'], 1)} s, peak memory {figures['peak_mb']:.0f} MB "
        f"(goal < {EXPORT_GOAL_SECONDS:.0f} s, < {EXPORT_GOAL_MB:.0f} MB: "
        f"{'met' if met else 'MISSED'}); peak RSS of the exporting process, "
        f"{figures['baseline_mb']:.0f} MB before the request; "
        f"{figures['bytes'] / 1e6:.1f} MB xlsx",
    )
    return figures


def count_export_rows(org) -> int:
    from synclog.models import RecordStatus, SyncRecord

    records = SyncRecord.objects.filter(org=org, entry_type="bill")
    return records.filter(status=RecordStatus.COMPLETE).count()


# --- main --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.export_child:
        return export_child(args.export_child)
    started = time.monotonic()
    with Bench("pages", args, kept_database=args.keep_database):
        from django.db import connection as db

        db.ensure_connection()
        kept = kept_load(args) if args.keep_database else None
        if kept is not None:
            org, user, info, e_org, e_user = kept
            log(f"measuring the load kept in {args.keep_database} (not loading again)")
            from synclog import services

            log(f"  attention counts: {services.attention_fold_all():,} changes folded")
            analyze()
        else:
            org, user, info, e_org, e_user = load(args)
            if args.keep_database:
                remember_load(args, org, user, info, e_org, e_user)
        time_pages(args, org, user, info)
        if args.export:
            rows = count_export_rows(e_org)
            log(f"exporting {rows:,} rows in a child process")
            run_export(args, e_user, rows)
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


def _load_spec(args) -> dict:
    keys = ("documents", "attempts", "export_rows", "hot_documents", "hot_attempts", "export")
    return {key: getattr(args, key) for key in keys}


def kept_load(args):
    """The organisations a kept database was loaded with, if it holds a load of these sizes."""
    from django.contrib.auth import get_user_model
    from django.db import connection as db

    from accounts.models import Organization

    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_pages_load (spec jsonb, loaded jsonb)")
        cursor.execute("SELECT spec, loaded FROM bench_pages_load")
        rows = cursor.fetchall()
    if not rows:
        return None
    spec, loaded = (json.loads(v) if isinstance(v, str) else v for v in rows[0])
    if spec != _load_spec(args):
        raise SystemExit(
            f"{args.keep_database} holds a load of {spec}, not {_load_spec(args)}: drop it "
            "(DROP DATABASE) or name another"
        )
    users = get_user_model().objects
    org, user = Organization.objects.get(pk=loaded["org"]), users.get(pk=loaded["user"])
    e_org = e_user = None
    if loaded.get("e_org"):
        e_org, e_user = Organization.objects.get(pk=loaded["e_org"]), users.get(pk=loaded["e_user"])
    return org, user, loaded["info"], e_org, e_user


def remember_load(args, org, user, info, e_org, e_user) -> None:
    from django.db import connection as db

    loaded = {
        "org": org.pk,
        "user": user.pk,
        "info": info,
        "e_org": e_org.pk if e_org else None,
        "e_user": e_user.pk if e_user else None,
    }
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_pages_load (spec jsonb, loaded jsonb)")
        cursor.execute(
            "INSERT INTO bench_pages_load VALUES (%s, %s)",
            [json.dumps(_load_spec(args)), json.dumps(loaded)],
        )


def load(args):
    """The three organisations: the measured one, its neighbour (a fifth), the export's."""
    load_started = time.monotonic()
    log(f"loading {args.documents:,} documents and {args.attempts:,} attempts")
    org, user, category, connection = make_org("Pages", connection_name="Xero Demo")
    info = load_org(
        org=org,
        connection=connection,
        user=user,
        category=category,
        documents=args.documents,
        attempts=args.attempts,
        hot_documents=args.hot_documents,
        hot_attempts=args.hot_attempts,
    )
    log("loading the neighbour organisation (a fifth of the size)")
    n_org, n_user, n_category, n_connection = make_org("Neighbour", connection_name="Xero N")
    load_org(
        org=n_org,
        connection=n_connection,
        user=n_user,
        category=n_category,
        documents=max(1, args.documents // 5),
        attempts=args.attempts // 5,
        hot_documents=2,
        hot_attempts=args.hot_attempts,
    )
    e_org = e_user = None
    if args.export:
        log(f"loading the export organisation ({args.export_rows:,} Complete bills)")
        e_org, e_user, e_category, e_connection = make_org("Export", connection_name="Xero E")
        load_org(
            org=e_org,
            connection=e_connection,
            user=e_user,
            category=e_category,
            documents=args.export_rows,
            attempts=0,
            invoice_every=0,
            paid_per_10=0,
            complete_pct=100,
            failed_pct=0,
            runs=False,
        )
    fold_started = time.perf_counter()
    from synclog import services

    folded = services.attention_fold_all()
    log(
        f"  attention counts: {folded:,} changes folded "
        f"in {time.perf_counter() - fold_started:.1f}s"
    )
    analyze()
    log(f"loaded in {time.monotonic() - load_started:.0f}s; hot document {info}")
    return org, user, info, e_org, e_user


if __name__ == "__main__":
    sys.exit(main())
