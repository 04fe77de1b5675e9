"""Figure 8, fault drills: a bulk sync that must survive crashes and a faulty ledger with nothing
lost and nothing doubled in the ledger, and every attempt logged.

    python -m bench.drills --documents 2000 --kills 10 --outage-seconds 30   # the issue's sizes
    python -m bench.drills --documents 100 --kills 1 --drills a,c   # a short run
    python -m bench.drills --documents 2000 --drills d   # PostgreSQL restarts, on a server of ours
    python -m bench.drills --ledger qbo --documents 100 --drills a   # on QuickBooks Online
    python -m bench.drills --ledger myob --documents 100 --drills a  # on MYOB

a) SIGKILL a worker (its whole process group: main process and pool children) --kills times
   during a bulk sync, at least --kill-every seconds apart, each time when a worker holds
   claimed records with a ledger call in flight (each call takes --kill-latency-ms); a
   supervisor loop restarts it. Printed: how many kills landed mid-push (the records the
   victim held were still claimed by it with their answer unsaved once it was dead).
b) Redis down for --outage-seconds mid-sync, then up again, empty: a redis-server of our own on a
   free port (no persistence), never the machine's. Queued tasks are lost with it.
c) The emulator answers 5xx on 15% of calls (--error-rate) and never answers 5%
   (--timeout-rate: our HTTP timeout, --http-timeout, ends them; the write is not applied); every
   --rearm-429 seconds (until only the last 10% of records are left) it also answers one call
   429 and, the hardest case for duplicates, applies one write whose answer never comes. No
   added latency. The share of faulty calls among the
   emulator's last 1000 is printed.
d) PostgreSQL stopped mid-sync for --pg-down-seconds, then started again, once per mode of
   --pg-stops (default "fast,immediate": `pg_ctl stop -m fast` ends every session cleanly,
   `-m immediate` kills the server, a crash recovered from the WAL), when a fifth, then half, of
   the records are pushed. Never the machine's server (it is shared): a cluster of our own
   (bench.harness.PgServer: initdb in a temporary directory, a free loopback port, fsync off), so d
   runs in a Bench of its own (a process of its own when other drills run too). The bench's own
   polling reconnects after the restart. Besides the census, it counts the ledger's calls (the
   emulator's per-tenant count) against the calls logged in attempts, and records linked to an
   entry that no logged attempt of theirs wrote (a write whose attempt was lost with the
   database): both must be 0 for "every attempt logged".

Workers run with short engine timings (lease, sweep) so recovery happens within the run: a
record claimed by a killed worker waits for its lease (--lease seconds), then the sweep of a
separate `celery beat` re-enqueues Pending records whose task is older than --sweep-after
(--sweep-bulk-after for records of bulk runs; production waits 900 s there, so that a backlog
waiting for quota is not re-sent by every sweep).
Counts come from the emulator's invoices, by our reference (ls-<org>-<document>).
With --ledger qbo every drill runs against the QuickBooks Online emulator instead (its throttles
lifted as Xero's limits are; its bills counted by the reference in their PrivateNote). There a
429 carries no Retry-After and the connector waits Intuit's 60 seconds, so drill c's injected
429s each pause the connection a minute.

With --ledger myob they run against the MYOB emulator (its API key's limits lifted; its bills
counted by the reference in their JournalMemo); a 429 there pauses the connection a second.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time

from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    RedisServer,
    add_common_arguments,
    add_ledger_argument,
    broker_for_this_process,
    census,
    log,
    pending_count,
    setup_org,
    wait_for_moment,
    wait_until,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200, help="bills per drill")
    parser.add_argument("--drills", default="a,b,c,d", help="which drills, comma-separated")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills")
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=int, default=100, help="emulator latency per call")
    parser.add_argument(
        "--kill-latency-ms",
        type=int,
        default=1000,
        help="drill a: emulator latency per call (a kill waits for a worker mid-call)",
    )
    parser.add_argument("--lease", type=float, default=10.0, help="SYNC_LEASE_SECONDS")
    parser.add_argument(
        "--http-timeout", type=float, default=3.0, help="LEDGER_HTTP_TIMEOUT_SECONDS"
    )
    parser.add_argument("--sweep-after", type=float, default=15.0, help="SYNC_SWEEP_AFTER_SECONDS")
    parser.add_argument(
        "--sweep-bulk-after",
        type=float,
        default=20.0,
        help="SYNC_SWEEP_BULK_AFTER_SECONDS (production: 900)",
    )
    parser.add_argument("--error-rate", type=float, default=0.15, help="drill c: 5xx share")
    parser.add_argument(
        "--timeout-rate", type=float, default=0.05, help="drill c: share never answered"
    )
    parser.add_argument(
        "--rearm-429", type=float, default=5.0, help="drill c: seconds between injected 429s"
    )
    parser.add_argument(
        "--pg-down-seconds", type=float, default=5.0, help="drill d: seconds PostgreSQL stays down"
    )
    parser.add_argument(
        "--pg-stops",
        default="fast,immediate",
        help="drill d: one stop per mode, comma-separated (smart, fast, immediate)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=50, help="SYNC_BATCH_SIZE (records per bulk task)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="per drill, seconds")
    parser.add_argument("--loglevel", default="WARNING", help="of the workers (see --keep-logs)")
    add_common_arguments(parser)
    add_ledger_argument(parser)
    return parser.parse_args(argv)


def report(
    bench: Bench, emulator, setup, label: str, details: str, *, calls_logged: bool = True
) -> bool:
    from synclog.models import RecordStatus, SyncRecord

    state = emulator.state()
    counts = census(state, setup)
    failed = SyncRecord.objects.filter(connection=setup.connection, status=RecordStatus.FAILED)
    if failed and bench.args.keep_logs:
        # What the ledger saw last, for whoever investigates the failure.
        for request in state["requests"][-40:]:
            print(
                f"    ledger: {request['method']} {request['path']} {request['status']} "
                f"timedOut={request['timedOut']} dropped={request['responseDropped']} "
                f"key={request['idempotencyKey']} at={request['at']:.1f}"
            )
    for record in failed[:5]:
        print(
            f"  failed record {record.pk} (document {record.document_id}): "
            f"{record.last_error_code} {record.last_error_message[:300]!r}; attempts "
            "(trigger, operation, outcome, http status, seconds after the first): "
        )
        attempts = list(record.attempts.order_by("started_at"))
        for attempt in attempts:
            offset = (attempt.started_at - attempts[0].started_at).total_seconds()
            print(
                f"    {attempt.trigger} {attempt.operation} {attempt.outcome} "
                f"{attempt.http_status} +{offset:.1f}s {attempt.error_message[:80]!r}"
            )
    logged = (
        counts.records_without_attempt == 0 and counts.attempts >= counts.records and calls_logged
    )
    bench.result(
        f"8{label}",
        f"{counts.line()} every_attempt_logged={'yes' if logged else 'NO'} {details}",
    )
    return counts.ok and logged


def record_states(setup) -> str:
    """Where the records are, for a drill that does not finish in time."""
    from django.db.models import Count, Max, Min
    from django.utils import timezone

    from synclog.models import SyncRecord

    records = SyncRecord.objects.filter(connection=setup.connection)
    rows = records.values("status").annotate(
        n=Count("id"),
        claimed=Count("id", filter=~models_q(claimed_by="")),
        oldest_enqueued=Min("enqueued_at"),
        latest_retry=Max("next_retry_at"),
    )
    now = timezone.now()
    return "; ".join(
        f"status {row['status']}: {row['n']} (claimed {row['claimed']}, oldest enqueued "
        f"{(now - row['oldest_enqueued']).total_seconds() if row['oldest_enqueued'] else '-'}"
        f" s ago, latest retry at {row['latest_retry']})"
        for row in rows
    )


def models_q(**kwargs):
    from django.db.models import Q

    return Q(**kwargs)


def pending_now(setup) -> int | None:
    """Pending records, or None while the database does not answer. A broken connection is
    closed, so that the next query connects again (a restarted server ended it)."""
    from django.db import InterfaceError, OperationalError, connection

    try:
        return pending_count([setup])
    except (OperationalError, InterfaceError):
        connection.close()
        return None


def finish(setup, args, what: str) -> float:
    started = time.monotonic()

    def states() -> str:
        try:
            return record_states(setup)
        except Exception as error:  # noqa: BLE001 - only describes a timeout
            return f"unknown ({error})"

    wait_until(
        lambda: pending_now(setup) == 0,
        timeout=args.timeout,
        interval=0.5,
        what=lambda: f"{what}; records: {states()}",
    )
    return time.monotonic() - started


def in_flight(setup, worker) -> dict[int, str]:
    """{record id: claim} of the records `worker` holds claimed with a ledger call in flight: a
    create (or its search) writes unknown_outcome before the call and clears it with the answer
    (synclog.services.entries._creating), so a claimed record that says so is mid-call."""
    from django.utils import timezone

    from synclog.models import SyncRecord

    return dict(
        SyncRecord.objects.filter(
            connection=setup.connection,
            claimed_by__startswith=f"{worker.name}:",
            claimed_until__gt=timezone.now(),
            unknown_outcome=True,
        ).values_list("pk", "claimed_by")
    )


def still_in_flight(held: dict[int, str]) -> bool:
    """After the kill: some record is still claimed by the dead worker, its answer never saved."""
    from synclog.models import SyncRecord

    return any(
        claim == held[pk]
        for pk, claim in SyncRecord.objects.filter(pk__in=held, unknown_outcome=True).values_list(
            "pk", "claimed_by"
        )
    )


def mid_push_victim(bench: Bench, setup, turn: int):
    """An alive worker holding claimed records with a call in flight (taking turns), and those
    records; (None, {}) once nothing is left to push."""
    alive = [worker for worker in bench.workers if worker.alive]
    for worker in alive[turn % len(alive) :] + alive[: turn % len(alive)] if alive else []:
        held = in_flight(setup, worker)
        if held:
            return worker, held
    if not pending_count([setup]):
        return None, {}
    return None


def drill_kills(bench: Bench, emulator, args) -> bool:
    from synclog import services

    setup = setup_org(
        emulator, name="Drill kills", bills=args.documents, connection_limits=UNLIMITED_CONNECTION
    )
    # Each call takes a while, so that a kill finds a worker mid-call (a run of 2,000 bills is
    # 40 batch calls: with 100 ms it ended in 16 s, before the tenth kill was due).
    emulator.set_faults(latency_ms=args.kill_latency_ms)
    bench.start_workers(args.workers, concurrency=args.concurrency, loglevel=args.loglevel)
    beat = bench.start_beat()
    bench.supervise()
    services.bulk_resync(org=setup.org, document_ids=setup.document_ids, actor=setup.user)
    started = time.monotonic()
    kills = landed = 0
    last_kill = None
    while kills < args.kills:
        if last_kill is not None:
            wait_for_moment(last_kill + args.kill_every, what="the next kill")
        # Paced by the work, not the clock: each kill waits for a worker that holds claimed
        # records with a ledger call in flight (the case the drill is for).
        victim, held = wait_until(
            lambda turn=kills: mid_push_victim(bench, setup, turn),
            timeout=args.timeout,
            interval=0.02,
            what="a worker mid-push",
        )
        if victim is None:
            log(f"nothing left to push after {kills} of {args.kills} kills")
            break
        victim.kill()
        last_kill = time.monotonic()
        kills += 1
        hit = still_in_flight(held)
        landed += hit
        log(
            f"SIGKILLed {victim.name} ({kills}/{args.kills}) holding {len(held)} records "
            f"mid-call{'' if hit else ': its answer came first, the kill missed'}"
        )
    finish(setup, args, "every record to be pushed after the kills")
    bench.stop_supervising()
    emulator.clear_faults()
    ok = report(
        bench,
        emulator,
        setup,
        "a worker kills",
        f"kills_asked={args.kills} kills={kills} kills_landed_mid_push={landed}/{args.kills} "
        f"latency_ms={args.kill_latency_ms} restarts={bench.restarts} "
        f"seconds={time.monotonic() - started:.1f}",
    )
    bench.stop_workers()
    beat.stop()
    return ok


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
        ok = report(
            bench,
            emulator,
            setup,
            "b redis outage",
            f"outage_seconds={args.outage_seconds:.0f} {call_details} seconds={seconds:.1f}",
            calls_logged=all_logged,
        )
        bench.stop_workers()
        beat.stop()
    own.stop()
    emulator.clear_faults()
    return ok


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


def ledger_calls(emulator, setup) -> int:
    """API calls the emulator accepted for the organisation's tenant, ever (not a bounded log)."""
    return emulator.state()["calls"][setup.tenant_id]


def calls_logged(setup) -> tuple[int, int]:
    """(ledger calls found in the attempts' logs, records linked to an entry that no logged
    attempt of theirs wrote). One batch's records share its calls (and its start time), so a
    call is counted once per (attempt start, position). A record whose entry was made by a
    write whose answer was lost has an attempt logged Unknown before the one that links it."""
    from synclog.models import AttemptOutcome, Operation, SyncAttempt

    calls = set()
    writes_logged: set[int] = set()
    linked: set[int] = set()
    attempts = SyncAttempt.objects.filter(record__connection=setup.connection).order_by(
        "started_at"
    )
    for record_id, started_at, operation, outcome, logged in attempts.values_list(
        "record_id", "started_at", "operation", "outcome", "calls"
    ):
        calls.update((started_at, index) for index in range(len(logged or [])))
        if operation == Operation.LINK and outcome == AttemptOutcome.SUCCESS:
            if record_id not in writes_logged:
                linked.add(record_id)
        elif outcome == AttemptOutcome.UNKNOWN or operation == Operation.CREATE:
            writes_logged.add(record_id)
    return len(calls), len(linked)


# A worker whose ledger answer arrived while PostgreSQL was down saves it once the server is
# back (syncsvc.outages: retries at most 5 s apart). Its lease may run out meanwhile, and another
# worker then finds the entry and links the records, so that the run is over before the first
# worker's attempt is in the log: the count waits for it, for at most this long.
ANSWERS_SAVED_WITHIN_SECONDS = 30.0


def call_log_check(emulator, setup, calls_before: int) -> tuple[str, bool]:
    """Every ledger call since `calls_before` is in an attempt's log: (details, all logged)."""
    calls = ledger_calls(emulator, setup) - calls_before
    with contextlib.suppress(TimeoutError):  # then the figures below say what is missing
        wait_until(
            lambda: (counted := calls_logged(setup))[0] >= calls and counted[1] == 0,
            timeout=ANSWERS_SAVED_WITHIN_SECONDS,
            interval=0.2,
        )
    logged, linked_unlogged = calls_logged(setup)
    details = (
        f"ledger_calls={calls} calls_logged={logged} unlogged_calls={calls - logged} "
        f"records_linked_to_an_unlogged_write={linked_unlogged}"
    )
    return details, logged >= calls and linked_unlogged == 0


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


DRILLS = {"a": drill_kills, "b": drill_redis, "c": drill_faults}


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


def run_in_child(argv: list[str]) -> int:
    """Drill d after the others, in a process of its own: Django here is set up for the shared
    server's database already, and d's Bench needs its own. SIGTERM reaches the child too."""
    import signal
    import subprocess

    command = [sys.executable, "-m", "bench.drills", *argv, "--drills", "d"]
    child = subprocess.Popen(command)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        return child.wait(timeout=120)
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    chosen = [name.strip() for name in args.drills.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in DRILLS and name != "d"]
    if unknown:
        raise SystemExit(f"unknown drill(s): {', '.join(unknown)}; choose from a, b, c, d")
    modes = [mode.strip() for mode in args.pg_stops.split(",") if mode.strip()]
    if "d" in chosen and (not modes or set(modes) - {"smart", "fast", "immediate"}):
        raise SystemExit(f"--pg-stops {args.pg_stops!r}: choose from smart, fast, immediate")
    sync_env = {
        "SYNC_LEASE_SECONDS": args.lease,
        "SYNC_SWEEP_AFTER_SECONDS": args.sweep_after,
        "SYNC_SWEEP_BULK_AFTER_SECONDS": args.sweep_bulk_after,
        "SYNC_SWEEP_INTERVAL_SECONDS": 1,
        "SYNC_MAX_ATTEMPTS": 20,
        "LEDGER_HTTP_TIMEOUT_SECONDS": args.http_timeout,
        "SYNC_BATCH_SIZE": args.batch_size,
    }
    ok = True
    others = [name for name in chosen if name != "d"]
    if others:
        with Bench("drills", args, sync_env=sync_env) as bench:
            emulator = bench.start_emulator()
            for name in others:
                log(f"drill {name}")
                ok = DRILLS[name](bench, emulator, args) and ok
    if "d" in chosen:
        from bench.harness import binaries_available

        if not binaries_available():
            print(
                "RESULT 8d postgres restart: skipped: no PostgreSQL binaries to run a server of "
                "our own (set PG_BIN_DIR); the machine's server is never restarted"
            )
        elif others:
            ok = run_in_child(argv) == 0 and ok
        else:
            ok = run_on_own_server(args, sync_env) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
