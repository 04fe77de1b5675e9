"""Figure 6, freshness: the options, the run and its report (see bench/freshness/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import sys
import time
from pathlib import Path

from bench import freshness
from bench.freshness.changes import (
    Change,
    applied_at,
    attempt_facts,
    duplicated_payments,
    make_change,
    make_submitted_bills,
    percentile,
    seconds_of,
    summary,
    write_csv,
)
from bench.freshness.load import Background
from bench.harness import (
    FAST_SYNC,
    ROOT,
    Bench,
    add_common_arguments,
    attempts_with_status,
    census,
    engine_limits,
    fmt,
    log,
    pending_count,
    runs_finished,
    setup_org,
    wait_until,
)

KINDS = ("approve", "edit", "payment")
GOAL_P95_SECONDS = 5.0
SETTING_DEFAULT = re.compile(
    r'(SYNC_[A-Z_]+) = (?:float|int)\(os\.environ\.get\("\1", "([^"]+)"\)\)'
)


def production_sync_settings() -> dict[str, str]:
    """The defaults of the engine settings that FAST_SYNC shortens, as syncsvc/settings.py has
    them (read from the file: the bench process's environment may carry FAST_SYNC's values)."""
    text = (ROOT / "syncsvc" / "settings.py").read_text()
    defaults = dict(SETTING_DEFAULT.findall(text))
    missing = set(FAST_SYNC) - set(defaults)
    if missing:
        raise SystemExit(f"no default found in syncsvc/settings.py for {sorted(missing)}")
    return {name: defaults[name] for name in FAST_SYNC}


def float_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    low_value = float(low)
    high_value = float(high) if high else low_value
    if not 0 <= low_value <= high_value:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH with 0 <= LOW <= HIGH: {text!r}")
    return low_value, high_value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.freshness", description=freshness.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--changes", type=int, default=30, help="measured changes (issue: 200)")
    parser.add_argument(
        "--gap",
        type=float_range,
        default=(1.5, 3.5),
        help="seconds between measured changes, LOW,HIGH (uniform); the default keeps the "
        "whole load at about 2/3 of the quota",
    )
    parser.add_argument(
        "--latency-ms",
        type=float_range,
        default=(150, 300),
        help="the emulator's latency per call, LOW,HIGH milliseconds",
    )
    parser.add_argument("--bulk-bills", type=int, default=300, help="0: no bulk re-sync")
    parser.add_argument("--background-bills", type=int, default=30)
    parser.add_argument(
        "--background-every", type=float, default=10.0, help="seconds; 0: no background edits"
    )
    parser.add_argument("--calls-per-window", type=int, default=60)
    parser.add_argument("--window-seconds", type=float, default=60.0)
    parser.add_argument("--max-concurrent", type=int, default=5)
    parser.add_argument(
        "--coalesce",
        type=float,
        default=None,
        help="SYNC_COALESCE_SECONDS for the workers (default: the product's default)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=3, help="processes per worker")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait after the last change"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--csv", type=Path, default=None, help="write one row per change here")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def plan_changes(count: int, rng: random.Random) -> list[str]:
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    return kinds


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    sync_env = production_sync_settings()
    if args.coalesce is not None:
        sync_env["SYNC_COALESCE_SECONDS"] = str(args.coalesce)
    coalesce = float(sync_env["SYNC_COALESCE_SECONDS"])
    kinds = plan_changes(args.changes, rng)
    wanted = {kind: kinds.count(kind) for kind in KINDS}
    emulator_limits, connection_limits = engine_limits(
        args.calls_per_window, args.window_seconds, args.max_concurrent, 5000
    )
    low_ms, high_ms = args.latency_ms
    print(
        f"Engine settings (production defaults from syncsvc/settings.py): {sync_env}; quota "
        f"{args.calls_per_window} calls / {fmt(args.window_seconds, 0)} s, "
        f"{args.max_concurrent} concurrent; emulator latency {fmt(low_ms, 0)}-{fmt(high_ms, 0)} "
        f"ms; changes every {args.gap[0]}-{args.gap[1]} s; load: bulk re-sync of "
        f"{args.bulk_bills} bills in a loop, an edit every {args.background_every} s"
    )
    started_run = time.monotonic()
    with Bench("freshness", args, sync_env=sync_env) as bench:
        from synclog import services

        emulator = bench.start_emulator(**emulator_limits)
        # The workers start while the data is made (nothing is queued before the first sync).
        workers = [bench.new_worker(concurrency=args.concurrency) for _ in range(args.workers)]
        for worker in workers:
            worker.launch()
        edit_n, pay_n = wanted["edit"], wanted["payment"]
        background_n = args.background_bills if args.background_every > 0 else 0
        synced_first = edit_n + pay_n + background_n
        log(f"setting up {synced_first} + {args.bulk_bills} approved bills")
        setup = setup_org(
            emulator,
            name="Freshness demo",
            bills=synced_first + args.bulk_bills,
            connection_limits=connection_limits,
            via_services=0,
        )
        ids = setup.document_ids
        edit_ids, pay_ids = ids[:edit_n], ids[edit_n : edit_n + pay_n]
        background_ids = ids[edit_n + pay_n : synced_first]
        bulk_ids = ids[synced_first:]
        approve_ids = make_submitted_bills(setup.org, user=setup.user, count=wanted["approve"])
        setup.document_ids = ids + approve_ids
        for worker in workers:
            worker.wait_ready()
        log(f"{args.workers} worker(s) x {args.concurrency} processes ready")

        log(f"first sync of the {synced_first} bills that will be edited or paid")
        runs = services.bulk_resync(
            org=setup.org, document_ids=ids[:synced_first], actor=setup.user
        )
        wait_until(
            lambda: runs_finished([run.pk for run in runs]),
            timeout=300,
            interval=0.2,
            what="the first sync",
        )

        background = Background()
        pools = {"approve": iter(approve_ids), "edit": iter(edit_ids), "payment": iter(pay_ids)}
        changes = [
            Change(index=i, kind=kind, document_id=next(pools[kind]))
            for i, kind in enumerate(kinds)
        ]
        tenant_state = next(
            t for t in emulator.state()["tenants"] if t["tenantId"] == setup.tenant_id
        )
        calls_before, refused_before = tenant_state["calls"], tenant_state["refusedCalls"]
        attempts_429_before = attempts_with_status(setup, 429)
        try:
            background.start(
                "latency", lambda: background.latency_loop(emulator, *args.latency_ms, args.seed)
            )
            if bulk_ids:
                background.start("bulk", lambda: background.bulk_loop(setup, bulk_ids))
            if background_ids:
                background.start(
                    "edits",
                    lambda: background.edit_loop(setup, background_ids, args.background_every),
                )
            log(f"making {args.changes} changes ({wanted})")
            start = time.time()
            due = start
            for change in changes:
                due += rng.uniform(*args.gap) if change.index else 0.0
                change.due_at = due
                time.sleep(max(0.0, due - time.time()))
                make_change(change, user=setup.user, rng=rng)
            last_commit = max(change.committed_at for change in changes)
            making_seconds = last_commit - start
            log(f"changes made in {fmt(making_seconds, 1)} s; waiting for them in the ledger")

            def all_applied() -> bool:
                writes = emulator.control(
                    "GET", f"/writes?tenant_id={setup.tenant_id}&since={start}"
                )["writes"]
                for change in changes:
                    if change.applied_at is None:
                        change.applied_at = applied_at(change, writes)
                return all(change.applied_at is not None for change in changes)

            with contextlib.suppress(TimeoutError):
                wait_until(
                    all_applied,
                    timeout=args.timeout,
                    interval=1.0,
                    what="every change to be in the emulator",
                )
            applied_by = time.time()
        finally:
            background.stop()
        tenant_state = next(
            t for t in emulator.state()["tenants"] if t["tenantId"] == setup.tenant_id
        )
        measured_seconds = applied_by - start
        calls = tenant_state["calls"] - calls_before
        refused = tenant_state["refusedCalls"] - refused_before
        attempts_429 = attempts_with_status(setup, 429) - attempts_429_before
        log("waiting for every record to finish")
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: pending_count([setup]) == 0, timeout=300, interval=0.5, what="records"
            )
        for change in changes:
            attempt_facts(change, setup)

        ok = report(
            bench,
            args,
            changes,
            coalesce=coalesce,
            measured_seconds=measured_seconds,
            making_seconds=making_seconds,
            calls=calls,
            refused=refused,
            attempts_429=attempts_429,
            background=background,
        )
        state = emulator.state()
        counts = census(state, setup)
        payments_dup = duplicated_payments(state, setup, changes)
        bench.result(
            "6 census",
            f"{counts.line()} payments_duplicated={payments_dup} "
            f"pending_left={pending_count([setup])}",
        )
        if args.csv:
            write_csv(args.csv, changes)
        ok = ok and counts.ok and payments_dup == 0
    log(f"run time {fmt(time.monotonic() - started_run, 0)} s")
    return 0 if ok else 1


def report(
    bench,
    args,
    changes: list[Change],
    *,
    coalesce: float,
    measured_seconds: float,
    making_seconds: float,
    calls: int,
    refused: int,
    attempts_429: int,
    background: Background,
) -> bool:
    seconds = [c.seconds for c in changes if c.seconds is not None]
    lost = sum(1 for c in changes if c.seconds is None)
    p95 = percentile(seconds, 0.95)
    goal = "met" if seconds and not lost and p95 < GOAL_P95_SECONDS else "missed"
    per_minute = calls / measured_seconds * 60 if measured_seconds else 0.0
    quota_per_minute = args.calls_per_window / args.window_seconds * 60
    bench.result(
        "6 freshness",
        f"changes={len(changes)} applied={len(seconds)} not_applied={lost} {summary(seconds)} "
        f"goal_p95<{fmt(GOAL_P95_SECONDS, 0)}s={goal} coalesce={fmt(coalesce, 1)}s "
        f"latency_ms={fmt(args.latency_ms[0], 0)}-{fmt(args.latency_ms[1], 0)} "
        f"gap={args.gap[0]}-{args.gap[1]}s made_in={fmt(making_seconds, 0)}s "
        f"changes_per_min={fmt(len(changes) / making_seconds * 60 if making_seconds else 0, 1)}",
    )
    for kind in KINDS:
        of_kind = [c for c in changes if c.kind == kind]
        details = sorted({c.detail for c in of_kind if c.detail})
        split = " ".join(
            f"{detail}:[{summary(seconds_of(c for c in of_kind if c.detail == detail))}]"
            for detail in details
        )
        bench.result(
            f"6 freshness {kind}",
            f"{summary([c.seconds for c in of_kind if c.seconds is not None])}"
            + (f" {split}" if split else ""),
        )
    waits = [
        c.attempt_started_at - c.committed_at for c in changes if c.attempt_started_at is not None
    ]
    pushes = [
        c.applied_at - c.attempt_started_at
        for c in changes
        if c.attempt_started_at is not None and c.applied_at is not None
    ]
    late = [c.committed_at - c.due_at for c in changes]
    bench.result(
        "6 freshness breakdown",
        f"commit_to_attempt_start:[{summary(waits)}] (of which coalescing {fmt(coalesce, 1)}s) "
        f"attempt_start_to_applied:[{summary(pushes)}] "
        f"sent_back_to_wait={sum(c.requeued for c in changes)} "
        f"more_than_one_attempt={sum(c.attempts > 1 for c in changes)} "
        f"calls={calls} calls_per_min={fmt(per_minute, 1)} "
        f"quota_per_min={fmt(quota_per_minute, 0)} "
        f"refused_429={refused} attempts_with_429={attempts_429} "
        f"bulk_runs={background.bulk_runs} bulk_records={background.bulk_records} "
        f"background_edits={background.edits} background_errors={len(background.errors)} "
        f"commit_behind_schedule_max={fmt(max(late) if late else 0)}s",
    )
    for error in background.errors:
        print(f"background error: {error}", file=sys.stderr)
    return lost == 0
