"""Drill b: Redis down mid-sync (a redis-server of our own), then up again, empty."""

from __future__ import annotations

import time

from bench.drills.checks import call_log_check, finish, ledger_calls, report
from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    RedisServer,
    broker_for_this_process,
    log,
    pending_count,
    setup_org,
    wait_for_moment,
    wait_until,
)


def drill_redis(bench: Bench, emulator, args) -> bool:
    from synclog import services

    setup = setup_org(
        emulator, name="Drill redis", bills=args.documents, connection_limits=UNLIMITED_CONNECTION
    )
    emulator.set_faults(latency_ms=args.latency_ms)
    own = RedisServer(bench.tmp).start()
    bench.processes.append(own)
    broker = {"REDIS_URL": own.url, "CELERY_BROKER_URL": own.url, "CELERY_RESULT_BACKEND": own.url}
    with broker_for_this_process(own.url):
        bench.start_workers(
            args.workers, concurrency=args.concurrency, extra_env=broker, loglevel=args.loglevel
        )
        beat = bench.start_beat(extra_env=broker)
        calls_before = ledger_calls(emulator, setup)
        services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
        started = time.monotonic()
        total = len(setup.document_ids)
        # Mid-sync: once a fifth is pushed (or at once if the run is nearly done already).
        wait_until(
            lambda: pending_count([setup]) <= total * 0.8,
            timeout=args.timeout,
            interval=0.1,
            what="a fifth of the records to be pushed",
        )
        own.crash()
        down_at = time.monotonic()
        log(f"redis-server on {own.port} killed; {pending_count([setup])} records pending")
        wait_for_moment(down_at + args.outage_seconds, what="the end of the outage")
        own.start()
        log(f"redis-server on {own.port} back (empty); {pending_count([setup])} records pending")
        finish(setup, args, "every record to be pushed after the outage")
        seconds = time.monotonic() - started
        call_details, all_logged = call_log_check(emulator, setup, calls_before)
        # Every worker rode out the outage (none is restarted here: one that exits is a failure).
        alive = sum(worker.alive for worker in bench.workers)
        ok = report(
            bench,
            emulator,
            setup,
            "b redis outage",
            f"outage_seconds={args.outage_seconds:.0f} {call_details} "
            f"workers_alive={alive}/{len(bench.workers)} seconds={seconds:.1f}",
            calls_logged=all_logged,
        ) and alive == len(bench.workers)
        bench.stop_workers()
        beat.stop()
    own.stop()
    emulator.clear_faults()
    return ok
