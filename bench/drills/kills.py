"""Drill a: SIGKILL a worker mid-push, again and again, during a bulk sync."""

from __future__ import annotations

import time

from bench.drills.checks import finish, report
from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    log,
    pending_count,
    setup_org,
    wait_for_moment,
    wait_until,
)


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
