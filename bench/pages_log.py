"""The sync log of bench.pages's loader: runs with their items, and attempts with their logged
HTTP calls, in SQL (INSERT ... SELECT over generate_series), for one organisation's records.
See bench/pages_loader.py for the rest of the data and bench/pages.py for what is measured."""

from __future__ import annotations

import datetime
import time

from bench.harness import log

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


def _run(cursor, sql: str, params: dict, what: str) -> int:
    started = time.perf_counter()
    cursor.execute(sql, params)
    log(f"  {what}: {cursor.rowcount:,} rows in {time.perf_counter() - started:.1f}s")
    return cursor.rowcount


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
