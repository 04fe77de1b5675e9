"""Figures 3 and 4: page latency over a large sync log, and the Excel export of the Sync History.

    python -m bench.pages                                    # a smoke-sized run
    python -m bench.pages --documents 100000 --attempts 1000000 --export-rows 100000  # issue 7
    python -m bench.pages --documents 1000000 --attempts 10000000 --export-rows 1000 \
        --keep-database ledgersync_pages_10m                                          # issue 13

Data: a bulk loader (INSERT ... SELECT over generate_series, in PostgreSQL itself) fills one
organisation with `--documents` documents (6 in 7 bills, the rest invoices; 1 to 3 lines each;
3 in 10 paid, with a payment), a sync record per document and per payment on one Xero connection
(90% Complete, 6% Failed with the engine's kinds of errors, 4% Pending; dated over the last 180
days), runs (one per 20 documents: mostly one-document re-syncs, every 50th a bulk run of 200,
plus one bulk run over a tenth of the bills) with their items, and `--attempts` sync attempts
with their logged HTTP calls: `--hot-documents` bills get `--hot-attempts` attempts each, the rest
are spread evenly over every record. A neighbour organisation gets a fifth of all that (the
tenant scoping must keep it out), and an export organisation gets `--export-rows` Complete bills.
Then Requires attention's maintained counts are folded, and ANALYZE. The loader is
bench/pages_loader.py and bench/pages_log.py; `--keep-database NAME` loads once into NAME and
keeps it, and a later run with the same sizes migrates it and measures again without loading
(the 10,000,000-attempt load takes 18-22 minutes here).

Figure 3: the Django test client, signed in as the organisation's admin, GETs each page
`--warmup` times, then `--requests` times timed in-process (wall time of `client.get`, rendering
included); p50 and p95 by nearest rank. The query count is from one more request under
CaptureQueriesContext. Pages: Sync History (each tab with its defaults: Failed, the last month;
Bills Complete in the last month, over all dates, and its last page (the oldest page once the
filter holds more than synclog.selectors.history.COUNT_LIMIT records); Bills Pending), Requires
attention and its largest group, Sync Health (the dashboard with its default 7 days and over all
dates, the big bulk run's page and its failed items), the Integrations tab of a hot bill, and the
Documents list (unfiltered, and filtered to each sync status: the loader makes no drifted or
unpushed documents, so those two filters time finding none among all of them).

Figure 4: the Excel export of `--export-rows` Complete bills (tab Bills, status Complete, no date
bounds) in a child process (the test client again; the whole response is read): wall seconds, and
the child's peak RSS (ru_maxrss of the process: Python, Django and the export together; the
baseline before the request is printed too). The database server's memory is not in it.

Goals: p95 < 100 ms per page (issue 13, at 10,000,000 attempts; issue 7 asked < 150 ms at
1,000,000); the export < 20 s and < 250 MB (issue 7). A missed goal does not
change the exit status (0 unless an error); `--explain missed` (the default) prints EXPLAIN
ANALYZE of the slowest query of every page that misses, `--profile NAME` a cProfile of a page.
DEBUG is on in this process (the harness's setting for the test client), so Django keeps its
query log; that costs a few microseconds per query.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

from bench.harness import ROOT, Bench, add_common_arguments, fmt, log, proc_cpu_seconds
from bench.pages_loader import (
    analyze,
    approve_unpushed_documents,
    kept_load,
    load,
    remember_load,
)

PAGE_GOAL_MS = 100.0
EXPORT_GOAL_SECONDS = 20.0
EXPORT_GOAL_MB = 250.0


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
        "--unpushed",
        type=int,
        default=None,
        help="approved bills not pushed yet, added after the load (default: a thousandth of "
        "--documents, at least 2)",
    )
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


# --- figure 3 ----------------------------------------------------------------------------------


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed_gets(client, name: str, url: str, count: int) -> list[float]:
    """`count` GETs of the page `name` at `url`: each one's milliseconds. A page that does not
    answer 200 stops the run (its time would measure an error page)."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {url} answered {response.status_code}")
    return times


def page_urls(org, info: dict) -> list[tuple[str, str]]:
    from urllib.parse import urlencode

    from django.urls import reverse

    from integrations.models import Connection
    from synclog.models import SyncRun
    from synclog.selectors import attention
    from synclog.selectors.document_state import DocumentSyncState

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
        # The page AP staff open first: every document, newest first, with its sync status.
        ("documents list", reverse("documents:list")),
    ]
    # ...and filtered to each sync status (documents.filters.DocumentFilter.sync_state).
    pages += [
        (
            f"documents list, sync status {label.lower()}",
            f"{reverse('documents:list')}?sync_state={state}",
        )
        for state, label in DocumentSyncState.choices
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
    # The connection page: "N documents are not in the ledger yet". (Its mappings page says so
    # too, but reads the ledger's accounts first: no ledger answers here.)
    connection = Connection.objects.for_org(org).get()
    pages.append(("connection page", reverse("integrations:detail", args=[connection.pk])))
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
    gc.freeze()  # as the server does after start-up (syncsvc/wsgi.py)
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
        cpu_started = time.process_time(), proc_cpu_seconds(backend)
        times = timed_gets(client, name, url, args.requests)
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
        unpushed = args.unpushed if args.unpushed is not None else max(2, args.documents // 1000)
        unpushed = approve_unpushed_documents(org, unpushed)
        log(f"  {unpushed:,} approved bills not pushed yet (numbered NP-…)")
        time_pages(args, org, user, info)
        if args.export:
            rows = count_export_rows(e_org)
            log(f"exporting {rows:,} rows in a child process")
            run_export(args, e_user, rows)
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
