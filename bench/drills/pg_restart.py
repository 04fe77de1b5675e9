"""Drill d: PostgreSQL stopped and started again mid-sync, on a cluster of our own."""

from __future__ import annotations

import argparse
import contextlib
import time

from bench.drills.checks import call_log_check, finish, ledger_calls, pending_now, report
from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    log,
    setup_org,
    wait_for_moment,
    wait_until,
)


def drill_pg_restart(bench: Bench, emulator, args, pg) -> bool:
    from synclog import services

    modes = [mode.strip() for mode in args.pg_stops.split(",") if mode.strip()]
    setup = setup_org(
        emulator,
        name="Drill postgres",
        bills=args.documents,
        connection_limits=UNLIMITED_CONNECTION,
    )
    emulator.set_faults(latency_ms=args.latency_ms)
    bench.start_workers(args.workers, concurrency=args.concurrency, loglevel=args.loglevel)
    beat = bench.start_beat()
    calls_before = ledger_calls(emulator, setup)
    services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
    started = time.monotonic()
    total = len(setup.document_ids)
    stops = []
    for index, mode in enumerate(modes):
        # Mid-sync: once a fifth is pushed, then half, then 80% (or at once if past it).
        share = min(0.8, 0.2 + 0.3 * index)
        pending = wait_until(
            lambda s=share: (p := pending_now(setup)) is not None and p <= total * (1 - s) and [p],
            timeout=args.timeout,
            interval=0.1,
            what=f"{share:.0%} of the records to be pushed",
        )[0]
        pg.stop(mode=mode)
        down_at = time.monotonic()
        log(f"PostgreSQL stopped (-m {mode}) with {pending} of {total} records pending")
        wait_for_moment(down_at + args.pg_down_seconds, what="the end of the outage")
        pg.start()
        back_at = time.monotonic()
        left = wait_until(
            lambda: (p := pending_now(setup)) is not None and [p],
            timeout=60,
            interval=0.2,
            what="the bench's own connection to come back",
        )[0]
        log(f"PostgreSQL back after {back_at - down_at:.1f}s; {left} records pending")
        # How long the sync stood still after the server was back (leases, the sweep).
        wait_until(
            lambda p=left: (now := pending_now(setup)) is not None and (now < p or now == 0),
            timeout=args.timeout,
            interval=0.1,
            what="any record to be pushed after the restart",
        )
        resumed = time.monotonic() - back_at
        log(f"pushing again {resumed:.1f}s after the restart")
        stops.append(f"{mode}@{total - pending}:resumed_after={resumed:.1f}s")
    finish(setup, args, "every record to be pushed after the restarts")
    seconds = time.monotonic() - started
    emulator.clear_faults()
    call_details, all_logged = call_log_check(emulator, setup, calls_before)
    ok = report(
        bench,
        emulator,
        setup,
        "d postgres restart",
        f"stops={','.join(stops)} down_seconds={args.pg_down_seconds:g} {call_details} "
        f"seconds={seconds:.1f}",
        calls_logged=all_logged,
    )
    bench.stop_workers()
    beat.stop()
    return ok


def run_on_own_server(args, sync_env: dict) -> bool:
    """Drill d in a Bench of its own, on a PostgreSQL cluster of our own (PgServer)."""
    from bench.harness import PgServer

    with PgServer() as pg:
        own = argparse.Namespace(**{**vars(args), "database_url": pg.url})
        with Bench("drills-pg", own, sync_env=sync_env) as bench:
            emulator = bench.start_emulator()
            log(f"drill d (PostgreSQL of our own on port {pg.port})")
            try:
                return drill_pg_restart(bench, emulator, args, pg)
            finally:
                if not pg.running:
                    # Failed while it was down: up again, so that the database can be dropped.
                    with contextlib.suppress(Exception):
                        pg.start()
