"""Figure 10, drift detection (issue 17, item 3): the reconcile's ledger calls, time and SQL
queries, and the latency of the pages that show drifted records.

    python -m bench.reconcile --bills 200 --drifted 20        # a smoke run
    python -m bench.reconcile --bills 5000 --drifted 500      # larger

One organisation with `--bills` approved bills, pushed to the Xero emulator (a separate server)
by a bulk re-sync that `--workers` workers drain; the workers are then stopped, and everything
below runs in this process, timed with time.perf_counter:

- `first`: the connection's first reconcile. It reads every entry changed since the earliest
  push (every bill: GET /Invoices with If-Modified-Since, 100 a page) and finds nothing.
- `edits`: `--drifted` bills get another due date in the emulator (its control API, as someone
  editing them in Xero); the reconcile's mark is set to just before the edits less the overlap,
  as a reconcile that ran then would have left it. It reads the edited entries and marks each
  drifted: a Failed record, an attempt.
- `steady`: the next reconcile, nothing changed since its mark; the edits made within the
  overlap before the last one began are read again and found already Failed (nothing new).

The overlap is `--overlap-seconds` (1 s) instead of the product's two minutes, so that the run
need not wait between reconciles for its pushes and edits to fall out of the overlap.

For each: ledger calls (the reconcile's own count, and the GETs the emulator logged), entries
read, records found drifted, wall seconds, SQL queries (CaptureQueriesContext). The quota is the
connection's (unlimited here: the calls are counted, not paced).

Then page latency with the drifted records there: the Django test client, signed in as the
organisation's admin, GETs each page `--warmup` times, then `--requests` times; p50 and p95 by
nearest rank, and the queries of one request. Pages: the Documents list filtered to Drifted,
Requires attention, the drifted group's page, and a drifted bill's Integrations tab; the
unfiltered Documents list beside them as a baseline.

Exit 1 when the counts are wrong (not every edited bill found drifted, or one found that was
not edited), 0 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time

from bench.harness import (
    REQUEST_LOG_SIZE,
    UNLIMITED_CONNECTION,
    Bench,
    add_common_arguments,
    fmt,
    log,
    pending_count,
    setup_org,
    wait_until,
)
from bench.pages import nearest_rank, timed_gets


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=200)
    parser.add_argument("--drifted", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page first")
    parser.add_argument(
        "--overlap-seconds",
        type=float,
        default=1.0,
        help="the reconcile's overlap (the product's: 120 s; shorter here so that the run "
        "need not wait two minutes between reconciles)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def last_request_at(emulator) -> float:
    """The emulator's clock at its last logged call (0 before any)."""
    log = emulator.control("GET", "/requests")["requests"]
    return log[-1]["at"] if log else 0.0


def ledger_gets(emulator, since: float) -> str:
    """The Accounting API GETs the emulator logged after `since`, read from its request log
    alone (its state() carries every invoice); "N+" when the log (the last REQUEST_LOG_SIZE
    calls) no longer reaches back to `since`."""
    log = emulator.control("GET", f"/requests?since={since!r}")["requests"]
    gets = sum(
        1 for r in log if r["method"] == "GET" and "/api.xro/" in r["path"] and r["at"] > since
    )
    reaches_back = len(log) < REQUEST_LOG_SIZE or log[0]["at"] <= since
    return str(gets) if reaches_back else f"{gets}+"


def timed_reconcile(emulator, setup, label: str) -> object:
    from django.db import connection as db_connection
    from django.test.utils import CaptureQueriesContext

    from synclog import services

    emulator_clock = last_request_at(emulator)
    with CaptureQueriesContext(db_connection) as queries:
        started = time.perf_counter()
        result = services.connection_reconcile(connection_id=setup.connection.pk)
        seconds = time.perf_counter() - started
    Bench.result(
        f"10 reconcile {label}",
        f"bills={len(setup.document_ids)} calls={result.calls} "
        f"emulator_gets={ledger_gets(emulator, emulator_clock)} read={result.entries_read} "
        f"drifted={result.drifted} seconds={fmt(seconds, 3)} queries={len(queries)}",
    )
    return result


def time_pages(setup, args) -> None:
    from django.db import connection as db_connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from synclog.models import RecordStatus, SyncRecord

    drifted = (
        SyncRecord.objects.filter(connection=setup.connection, status=RecordStatus.FAILED)
        .order_by("pk")
        .first()
    )
    tab = reverse("synclog:document-integrations", args=[drifted.document_id])
    group = reverse(
        "synclog:attention-group",
        args=[drifted.connection_id, drifted.last_error_code, drifted.last_error_digest],
    )
    pages = {
        "documents-all": reverse("documents:list"),
        "documents-drifted": f"{reverse('documents:list')}?sync_state=drifted",
        "requires-attention": reverse("synclog:attention"),
        "drift-group": group,
        "drifted-bill-tab": f"{tab}?connection={setup.connection.pk}",
    }
    client = Client(HTTP_HOST="localhost")
    client.force_login(setup.user)
    for name, url in pages.items():
        for _ in range(args.warmup):
            client.get(url)
        times = timed_gets(client, name, url, args.requests)
        with CaptureQueriesContext(db_connection) as queries:
            client.get(url)
        Bench.result(
            f"10 page {name}",
            f"p50_ms={fmt(statistics.median(times), 1)} p95_ms={fmt(nearest_rank(times, 0.95), 1)} "
            f"queries={len(queries)} requests={args.requests}",
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    with Bench("reconcile", args) as bench:
        from django.db.models import Max

        from synclog import services
        from synclog.models import LedgerReconcile, RecordStatus, SyncRecord
        from synclog.services import reconcile

        reconcile.RECONCILE_OVERLAP = datetime.timedelta(seconds=args.overlap_seconds)
        emulator = bench.start_emulator()
        log(f"setting up {args.bills} bills")
        setup = setup_org(
            emulator,
            name="Reconcile",
            bills=args.bills,
            connection_limits=UNLIMITED_CONNECTION,
            tenant_id=emulator.default_tenant_id(),
        )
        bench.start_workers(args.workers, concurrency=args.concurrency)
        services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
        wait_until(
            lambda: pending_count([setup]) == 0,
            timeout=120 + args.bills * 0.2,
            interval=0.5,
            what="the bills to be pushed",
        )
        bench.stop_workers()
        complete = SyncRecord.objects.filter(
            connection=setup.connection, status=RecordStatus.COMPLETE, payment__isnull=True
        )
        log(f"{complete.count()} bills in the ledger")

        first = timed_reconcile(emulator, setup, "first")
        edited = list(complete.order_by("pk").values_list("external_id", flat=True))[: args.drifted]
        # The edits begin once every push has left the overlap: else the edits' reconcile
        # reads pushed bills again (a small run pushes all of them within the last second).
        # If-Modified-Since has whole seconds, so the mark may fall a second earlier still.
        last_push = complete.aggregate(last=Max("synced_at"))["last"]
        wait_until(
            lambda: (
                datetime.datetime.now(datetime.UTC)
                > last_push + reconcile.RECONCILE_OVERLAP + datetime.timedelta(seconds=1.1)
            ),
            timeout=args.overlap_seconds + 10,
            interval=0.05,
            what="the pushes to leave the reconcile's overlap",
        )
        edits_began = datetime.datetime.now(datetime.UTC)
        for external_id in edited:
            emulator.control("POST", f"/invoices/{external_id}/edit", {"DueDate": "2027-01-31"})
        LedgerReconcile.objects.filter(connection=setup.connection).update(
            changed_since=edits_began - reconcile.RECONCILE_OVERLAP
        )
        edits = timed_reconcile(emulator, setup, "edits")
        steady = timed_reconcile(emulator, setup, "steady")
        found = set(
            SyncRecord.objects.filter(
                connection=setup.connection, status=RecordStatus.FAILED
            ).values_list("external_id", flat=True)
        )
        ok = first.drifted == 0 and found == set(edited) and steady.drifted == 0
        Bench.result(
            "10 reconcile census",
            f"edited={len(edited)} found_drifted={len(found)} "
            f"missed={len(set(edited) - found)} wrongly_found={len(found - set(edited))} "
            f"{'ok' if ok else 'WRONG'}",
        )
        if edits.drifted:
            time_pages(setup, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
