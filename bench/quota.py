"""Figure 1, quota use: a bulk re-sync of N bills against the Xero emulator with Xero's limit
(60 calls a window per tenant, 5 in flight; the window scaled from 60 s to keep runs short), and
side by side the simplest design a user might build: one push per document, no batching.

    python -m bench.quota --bills 10000                      # 10,000 at a 10x scaled window
    python -m bench.quota --bills 3000 --window-seconds 60   # Xero's real window
    python -m bench.quota --bills 300 --baseline-bills 60    # a smoke run
    python -m bench.quota --ledger qbo --bills 1200          # QuickBooks Online, real minute
    python -m bench.quota --ledger myob --bills 480 --baseline-bills 240   # MYOB, real second

The batched run goes the product's way: synclog.services.bulk_resync (trigger bulk), which sends
`sync_batch` tasks of SYNC_BATCH_SIZE (50) records: a first push is one create call per batch
(no search: nothing of ours can be in the ledger yet). The one-per-document run, in a second
organisation with its own emulator tenant (so its own quota) at the same time, starts the same
bulk re-sync with trigger "manual": every record then goes through the `sync_record` task alone
(one create call per document).

Quota-bound maximum: each window admits `calls` calls; a batch costs 1 call for 50 bills, so at
most calls x 50 bills a window (Xero's own limit: 60 calls x 50 invoices = 3,000 bills a minute).
On QuickBooks Online (`--ledger qbo`) the emulator keeps Intuit's throttles at their real
windows (500 calls a minute, 10 a second, 40 batch requests a minute per realm and app; the
--calls-per-window / --window-seconds / --max-concurrent options are Xero's and ignored) and the
connections carry no rate_limits: the engine plans from the connector's declared capabilities
(500 calls a minute, 10 at once, batches of 30, a batch request weighing 13 calls). Its bound
is Intuit's batch throttle: 40 batch requests of 30 = 1,200 bills a minute; one per document,
500 calls = 500 bills a minute.
On MYOB (`--ledger myob`) the emulator keeps MYOB's limits, which are the API key's: 8 calls a
second and 1,000,000 a day for every tenant together; the connections carry no rate_limits (the
engine plans from the connector: 480 a minute, 8 at once, one entry per call, quota scope "app").
There is no batch endpoint, so both runs make one create call per bill, and they share the key's
quota: the figure is the two together against 8 calls a second = 480 bills a minute
("1 quota together (MYOB)").
Printed too: a burst-aware efficiency: the rolling window starts empty, so the first window's
calls are free at t=0 and the best possible finish is (ceil(calls/quota) - 1) x window seconds;
efficiency = that / the measured time (the stricter of the two ratios); and the calls per
document by entry type and method, from the emulator's request log.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from bench.harness import (
    Bench,
    MyobEmulator,
    QboEmulator,
    add_common_arguments,
    add_ledger_argument,
    add_quota_arguments,
    attempts_with_status,
    calls_by_type,
    census,
    engine_limits,
    failed_by_429,
    fmt,
    last_attempt_at,
    log,
    runs_finished,
    setup_org,
    wait_for_moment,
    wait_until,
)

BATCH = 50
REAL_WINDOW_SECONDS = 60
# QuickBooks Online: Intuit's batch throttle and its batches (the connector's batch size).
QBO_BATCH = 30
QBO_BATCHES_PER_MINUTE = QboEmulator.INTUIT_THROTTLES["batch_calls_per_minute"]
QBO_CALLS_PER_MINUTE = QboEmulator.INTUIT_THROTTLES["calls_per_minute"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=300, help="bills in the batched run")
    parser.add_argument(
        "--baseline-bills",
        type=int,
        default=None,
        help="bills in the one-per-document run (default: 3 windows' worth, at most --bills)",
    )
    add_quota_arguments(parser, window_seconds=6.0)
    add_common_arguments(parser)
    add_ledger_argument(parser)
    args = parser.parse_args(argv)
    if args.bills < 1 or (args.baseline_bills is not None and args.baseline_bills < 1):
        # The figure is the two designs side by side: each run needs at least one bill.
        parser.error("--bills and --baseline-bills must be at least 1")
    return args


def best_finish_seconds(calls: int, per_window: int, window: float) -> float:
    """The earliest the last call can go with a rolling window that starts empty."""
    return max(0, math.ceil(calls / per_window) - 1) * window


def main(argv=None) -> int:
    args = parse_args(argv)
    qbo, myob = args.ledger == "qbo", args.ledger == "myob"
    if myob:
        # One quota for the key, in real seconds: both runs share it, one call per bill.
        window, batch = 1.0, 1
        batched_quota = single_quota = MyobEmulator.MYOB_LIMITS["calls_per_second"]
        emulator_limits, connection_limits = dict(MyobEmulator.MYOB_LIMITS), None
        default_baseline = min(args.bills, 30 * single_quota)
        print(
            "MYOB at its API key's limits, real time: 8 calls a second and 1,000,000 a day for "
            "every tenant together; the engine plans from the connector (480 a minute, 8 at "
            "once, one entry per call, quota scope app: both runs share one quota)."
        )
    elif qbo:
        # Each run against its own throttle: batches against 40 a minute, single calls 500.
        window, batch = float(REAL_WINDOW_SECONDS), QBO_BATCH
        batched_quota, single_quota = QBO_BATCHES_PER_MINUTE, QBO_CALLS_PER_MINUTE
        emulator_limits, connection_limits = dict(QboEmulator.INTUIT_THROTTLES), None
        default_baseline = min(args.bills, single_quota // 2)
        print(
            "QuickBooks Online at Intuit's throttles, real time: 500 calls a minute, 10 a second, "
            "40 batch requests a minute per realm and app; the engine plans from the connector "
            "(500 a minute, 10 at once, batches of 30, a batch counting 13 calls)."
        )
    else:
        quota, window = args.calls_per_window, args.window_seconds
        batch, batched_quota, single_quota = BATCH, quota, quota
        emulator_limits, connection_limits = engine_limits(
            quota, window, args.max_concurrent, 10**7
        )
        speedup = REAL_WINDOW_SECONDS / window
        default_baseline = min(args.bills, 3 * quota // 2)
        print(
            f"Scaling: {quota} calls per {fmt(window, 1)} s per tenant, {args.max_concurrent} "
            f"concurrent (Xero: {quota} per 60 s) -> {fmt(speedup, 1)}x faster than real; "
            "the daily limit is lifted (10^7). Per-minute figures are of the scaled clock."
        )
    baseline_bills = args.baseline_bills
    if baseline_bills is None:
        baseline_bills = default_baseline
    with Bench("quota", args) as bench:
        from synclog import services
        from synclog.models import Trigger

        emulator = bench.start_emulator(**emulator_limits)
        log(f"setting up {args.bills} + {baseline_bills} bills")
        batched = setup_org(
            emulator,
            name="Quota batched",
            bills=args.bills,
            connection_limits=connection_limits,
            tenant_id=emulator.default_tenant_id(),
        )
        single = setup_org(
            emulator,
            name="Quota one per document",
            bills=baseline_bills,
            connection_limits=connection_limits,
        )
        setup_done = time.monotonic()
        bench.start_workers(args.workers, concurrency=args.concurrency)
        # Setting up cost each tenant a call (the account list): let the emulator's window
        # forget it, so both runs start with the whole quota.
        wait_for_moment(setup_done + window, what="the emulator's window to drain")
        calls_before = emulator.state()["calls"]

        log("starting both bulk re-syncs")
        started = since = time.time()
        runs = services.bulk_resync(
            org=batched.org, document_ids=batched.document_ids, actor=batched.user
        )
        started_single = time.time()
        runs += services.bulk_resync(
            org=single.org,
            document_ids=single.document_ids,
            actor=single.user,
            trigger=Trigger.MANUAL,
        )
        run_ids = [run.pk for run in runs]
        expected = max(
            best_finish_seconds(math.ceil(args.bills / batch), batched_quota, window),
            best_finish_seconds(baseline_bills, single_quota, window),
        )
        if myob:  # one quota for both
            expected = best_finish_seconds(args.bills + baseline_bills, single_quota, window)
        wait_until(
            lambda: runs_finished(run_ids),
            timeout=3 * expected + 120,
            interval=0.2,
            what="both runs to finish",
        )
        state = emulator.state()
        batched_seconds = last_attempt_at(batched).timestamp() - started
        single_seconds = last_attempt_at(single).timestamp() - started_single

        ok = True
        for label, setup, seconds, bills in (
            ("batched", batched, batched_seconds, args.bills),
            ("one-per-document", single, single_seconds, baseline_bills),
        ):
            tenant_calls = state["calls"][setup.tenant_id] - calls_before[setup.tenant_id]
            refused = next(
                t["refusedCalls"] for t in state["tenants"] if t["tenantId"] == setup.tenant_id
            )
            counts = census(state, setup)
            ok = ok and counts.ok
            per_minute = bills / seconds * 60 if seconds > 0 else float("inf")
            # One create call per batch of new bills; one per document alone.
            per_call = batch if label == "batched" else 1
            quota = batched_quota if label == "batched" else single_quota
            best = best_finish_seconds(math.ceil(bills / per_call), quota, window)
            bound = quota * per_call / window * 60
            by_type = calls_by_type(state, setup.tenant_id, since)
            # QuickBooks' batch endpoint holds the creates: count its calls per bill too.
            documents = {"bill": bills, "batch": bills} if qbo else {"bill": bills}
            bench.result(
                f"1 quota {label}{' (QuickBooks Online)' if qbo else ''}",
                f"bills={bills} seconds={fmt(seconds)} bills_per_min={fmt(per_minute, 0)} "
                f"quota_bound_per_min={fmt(bound, 0)} ratio={fmt(per_minute / bound, 3)} "
                f"burst_aware_efficiency={fmt(best / seconds if seconds else 0, 3)} "
                f"calls={tenant_calls} refused_429={refused} "
                f"attempts_with_429={attempts_with_status(setup, 429)} "
                f"failed_by_429={failed_by_429(setup)} {by_type.line(documents)} "
                f"{counts.line()}",
            )
            if label == "batched":
                batched_rate = per_minute
            else:
                single_rate = per_minute
        if myob:
            together = max(batched_seconds + started, single_seconds + started_single) - started
            bills_together = args.bills + baseline_bills
            refused = sum(
                t["refusedCalls"]
                for t in state["tenants"]
                if t["tenantId"] in (batched.tenant_id, single.tenant_id)
            )
            bound = single_quota / window * 60
            per_minute = bills_together / together * 60 if together > 0 else float("inf")
            bench.result(
                "1 quota together (MYOB)",
                f"bills={bills_together} seconds={fmt(together)} bills_per_min="
                f"{fmt(per_minute, 0)} quota_bound_per_min={fmt(bound, 0)} "
                f"ratio={fmt(per_minute / bound, 3)} refused_429={refused} "
                f"failed_by_429={failed_by_429(batched) + failed_by_429(single)}",
            )
        ideal_single = single_quota / window * 60
        bench.result(
            f"1 quota side by side{' (QuickBooks Online)' if qbo else ''}",
            f"batched_per_min={fmt(batched_rate, 0)} one_per_document_per_min="
            f"{fmt(single_rate, 0)} ratio={fmt(batched_rate / single_rate, 1)}x "
            f"ratio_vs_ideal_one_call_per_document={fmt(batched_rate / ideal_single, 1)}x",
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
