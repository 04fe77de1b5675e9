"""Figure 2, own overhead: with the ledger's limits and latency off, how fast the service syncs and
how much CPU it spends per document (workers + database + the request that starts the sync), and
how many SQL queries a document costs (which must not grow with the batch).

    python -m bench.overhead --sizes 1000,10000        # the issue's sizes
    python -m bench.overhead --sizes 100 --query-batches 10,50   # a smoke run

CPU is read from /proc (utime + stime, children included) for: every process of the worker
process groups; the PostgreSQL backends serving the benchmark database except the bench's own
polling sessions (sampled every 0.25 s from pg_stat_activity); and the bench process and its
backend during the bulk_resync call (what a web request would spend). The emulator's CPU is the
ledger's, printed for information only. The workers first sync `--warmup` new documents of
another organisation (printed apart, as "warm-up"): a fresh pool process's first task pays once
for its start-up (pages copied on write, first connections), which is not a document's cost.

Queries per document are counted in this process with django.test.utils.CaptureQueriesContext
around synclog.services.sync_batch_push for batches of each size (records marked Pending by
bulk_resync, their queued tasks purged before any worker runs).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter

from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    PgBackendCpu,
    add_common_arguments,
    census,
    fmt,
    last_attempt_at,
    log,
    proc_cpu_seconds,
    runs_finished,
    setup_org,
    wait_until,
)

GOAL_CPU_MS = 2.0
# Issue 13, item 4: the workers' CPU per document (new at 10,000; an unchanged re-sync).
GOAL_WORKER_MS = {"new": 0.6, "resync-unchanged": 0.4}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,1000", help="documents per run, comma-separated")
    parser.add_argument(
        "--resync-sizes",
        default=None,
        help="of --sizes, those whose documents are then re-synced unchanged (default: all)",
    )
    parser.add_argument("--query-batches", default="10,50", help="batch sizes to count queries")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile (cProfile) an in-process push of a batch and print the top N entries",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=500,
        metavar="N",
        help="new documents of another organisation synced first, on the fresh workers, and "
        "printed apart (0: none)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="processes per worker")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _statement_kind(sql: str) -> str:
    match = re.match(r"\s*(\w+)", sql)
    word = match.group(1).upper() if match else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{word} {table.group(1) if table else ''}".strip()


def count_queries(
    bench: Bench, emulator, batches: list[int], profile: int = 0
) -> list[tuple[int, int, Counter, float]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from synclog import services

    setup = setup_org(
        emulator,
        name="Overhead queries",
        bills=sum(batches),
        connection_limits=UNLIMITED_CONNECTION,
    )
    services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
    # No worker runs yet: the batches are pushed here, one by one, under the query counter.
    bench.purge_queues()
    from synclog.models import SyncRecord

    record_ids = list(
        SyncRecord.objects.filter(connection=setup.connection)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    results = []
    start = 0
    for size in batches:
        ids = record_ids[start : start + size]
        start += size
        profiler = None
        if profile and size == batches[-1]:
            import cProfile

            # CPU time, not wall time: waits on the database and the ledger are not our CPU.
            profiler = cProfile.Profile(time.process_time)
        with CaptureQueriesContext(connection) as captured:
            if profiler:
                profiler.enable()
            cpu = time.process_time()
            waits = services.sync_batch_push(record_ids=ids, worker="bench-in-process")
            cpu = time.process_time() - cpu
            if profiler:
                profiler.disable()
        if profiler:
            import pstats

            print(f"--- profile of one batch of {size} new entries (cProfile, CPU time) ---")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(profile)
            stats.sort_stats("tottime").print_stats(profile)
        if waits:
            raise RuntimeError(f"the in-process batch did not finish: {waits}")
        kinds = Counter(_statement_kind(query["sql"]) for query in captured.captured_queries)
        results.append((size, len(captured), kinds, cpu))
    counts = census(emulator.state(), setup)
    if counts.synced != len(record_ids) or not counts.ok:
        raise RuntimeError(f"in-process push incomplete: {counts.line()}")
    return results


def measure_run(
    bench: Bench, emulator, setup, size: int, label: str, figure: str | None = None
) -> bool:
    from django.db import connection

    from synclog import services

    cpu_workers_before = bench.worker_cpu_seconds()
    emulator_before = emulator.process.cpu_seconds()
    with PgBackendCpu(bench.database_url, bench.db_name) as pg:
        connection.ensure_connection()
        own_backend = connection.connection.info.backend_pid
        backend_before = proc_cpu_seconds(own_backend)
        cpu_before = time.process_time()
        started = time.time()
        runs = services.bulk_resync(
            org=setup.org, document_ids=setup.document_ids, actor=setup.user
        )
        web_cpu = time.process_time() - cpu_before
        web_cpu += proc_cpu_seconds(own_backend) - backend_before
        wait_until(
            lambda: runs_finished([run.pk for run in runs]),
            timeout=120 + size * 0.1,
            interval=0.2,
            what=f"the run of {size} documents to finish",
        )
        seconds = last_attempt_at(setup).timestamp() - started
    worker_cpu = bench.worker_cpu_seconds() - cpu_workers_before
    emulator_cpu = emulator.process.cpu_seconds() - emulator_before
    total = worker_cpu + pg.seconds + web_cpu
    counts = census(emulator.state(), setup)
    per_doc_ms = total / size * 1000
    worker_ms = worker_cpu / size * 1000
    worker_goal = GOAL_WORKER_MS[label]
    bench.result(
        figure or f"2 overhead {size} {label}",
        f"documents={size} seconds={fmt(seconds)} docs_per_s={fmt(size / seconds, 1)} "
        f"cpu_ms_per_doc={fmt(per_doc_ms, 2)} (workers={fmt(worker_ms)} "
        f"db={fmt(pg.seconds / size * 1000)} request={fmt(web_cpu / size * 1000)}) "
        f"goal<={GOAL_CPU_MS} {'met' if per_doc_ms <= GOAL_CPU_MS else 'MISSED'} "
        f"workers_goal<={worker_goal} {'met' if worker_ms <= worker_goal else 'MISSED'} "
        f"emulator_cpu_ms_per_doc={fmt(emulator_cpu / size * 1000)} {counts.line()}",
    )
    return counts.ok


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = _sizes(args.sizes)
    batches = _sizes(args.query_batches)
    resync_sizes = sizes if args.resync_sizes is None else _sizes(args.resync_sizes)
    ok = True
    with Bench("overhead", args) as bench:
        emulator = bench.start_emulator()  # limits lifted, no latency, no faults

        per_doc = []
        for size, queries, kinds, cpu in count_queries(bench, emulator, batches, args.profile):
            per_doc.append(queries / size)
            top = ", ".join(f"{kind}: {n / size:.1f}" for kind, n in kinds.most_common(8))
            # The bench process's CPU for the push alone (no task, no database server side);
            # the first batch also pays for imports and warm-up.
            print(
                f"  batch of {size}: {queries} queries, in-process push CPU "
                f"{cpu * 1000 / size:.2f} ms/doc; per document: {top}"
            )
        pairs = zip(per_doc, per_doc[1:], strict=False)
        grows = any(later > earlier + 0.5 for earlier, later in pairs)
        figures = zip(batches, per_doc, strict=True)
        bench.result(
            "2 queries",
            " ".join(f"batch{size}={fmt(q, 2)}/doc" for size, q in figures)
            + f" grows_with_batch={'yes' if grows else 'no'}",
        )

        log(f"setting up {sum(sizes) + args.warmup} bills")
        warmup = args.warmup and setup_org(
            emulator,
            name="Overhead warm-up",
            bills=args.warmup,
            connection_limits=UNLIMITED_CONNECTION,
        )
        setups = [
            setup_org(
                emulator,
                name=f"Overhead {size}",
                bills=size,
                connection_limits=UNLIMITED_CONNECTION,
            )
            for size in sizes
        ]
        bench.start_workers(args.workers, concurrency=args.concurrency)
        if warmup:
            # A fresh pool process's first task pays once for what it shares with the worker's
            # main process: ~4,500 pages copied on write (the objects its code touches) and its
            # first connections, ~40 ms of CPU. Figure 2 is the CPU a document costs, so that
            # start-up is run off first, on another organisation, and printed apart.
            figure = f"2 overhead warm-up {args.warmup} new (fresh workers)"
            ok = measure_run(bench, emulator, warmup, args.warmup, "new", figure=figure) and ok
        for size, setup in zip(sizes, setups, strict=True):
            # First the bills' new entries (batched), then the same bulk re-sync again: every
            # entry exists and is unchanged, which takes the one-record path (nothing to push).
            ok = measure_run(bench, emulator, setup, size, "new") and ok
            if size in resync_sizes:
                ok = measure_run(bench, emulator, setup, size, "resync-unchanged") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
