"""Drill c: the ledger answers 5xx, times out, answers 429 and loses a write's answer."""

from __future__ import annotations

import contextlib
import threading
import time

from bench.drills.checks import calls_logged, finish, report
from bench.harness import UNLIMITED_CONNECTION, Bench, pending_count, setup_org


def drill_faults(bench: Bench, emulator, args) -> bool:
    from synclog import services

    setup = setup_org(
        emulator,
        name="Drill faults",
        bills=args.documents,
        connection_limits=UNLIMITED_CONNECTION,
    )
    bench.start_workers(args.workers, concurrency=args.concurrency, loglevel=args.loglevel)
    beat = bench.start_beat()
    emulator.set_faults(error_rate=args.error_rate, timeout_rate=args.timeout_rate, burst_429=1)
    stop = threading.Event()

    def rearm_429() -> None:
        # The emulator has no 429 rate, only "refuse the next N calls": one more every
        # --rearm-429 seconds. A 429 pauses the whole connection for its Retry-After (1 s), so
        # re-arming much faster would keep the connection paused rather than test recovery.
        # Not in the tail (the last 10% of records): there the few records left would take every
        # injected fault, a pattern that measures the injector, not the engine.
        from django.db import connection

        try:
            while not stop.wait(args.rearm_429):
                if pending_count([setup]) > 0.1 * args.documents:
                    with contextlib.suppress(Exception):
                        emulator.set_faults(burst_429=1, drop_response_next=1)
        finally:
            connection.close()

    rearm = threading.Thread(target=rearm_429, daemon=True)
    rearm.start()
    started = time.monotonic()
    services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
    try:
        finish(setup, args, "every record to be pushed through the faults")
    finally:
        stop.set()
        rearm.join(timeout=5)
        emulator.clear_faults()
    seconds = time.monotonic() - started
    requests = emulator.state()["requests"]
    faults = sum(1 for r in requests if r["timedOut"] or (r["status"] or 0) in (429, 500, 503))
    # The emulator counts the calls it accepted, not the faults it injected (which are logged
    # too): only entries made by a write that no attempt logged can be told apart here.
    _, linked_unlogged = calls_logged(setup)
    ok = report(
        bench,
        emulator,
        setup,
        "c ledger faults",
        f"faulty_share_of_last_{len(requests)}_calls={faults / max(1, len(requests)):.2f} "
        f"records_linked_to_an_unlogged_write={linked_unlogged} seconds={seconds:.1f}",
        calls_logged=linked_unlogged == 0,
    )
    bench.stop_workers()
    beat.stop()
    return ok
