"""Figure 9, the ETA (issue 17, item 4): how close a bulk re-sync's ETA, as its pages and
`GET /syncs/{id}` show it (synclog.selectors.eta.run_eta), comes to the run's real end.

    python -m bench.eta --documents 2000                       # the issue's size, quota-bound
    python -m bench.eta --documents 2000 --calls-per-window 0  # no quota: the service's speed

One organisation, N approved bills, one bulk re-sync (synclog.services.bulk_resync) drained by
real workers against the Xero emulator, whose window is scaled (by default 20 calls a 6 s window
and batches of 10, so that 2,000 bills need 200 calls: ten windows). While it runs, the bench
reads the run's ETA as the page does each time another tenth of the entries is done, and keeps
the finish it predicted. When the run has ended, each prediction is compared with the real end:
error = |predicted end - real end| / (real end - the moment of the prediction), the share of the
time that was still to go. Printed: each sample and the worst from 25% done on (the goal: within
20%); before a quarter is done the speed is barely measured, and those samples are printed only.
"""

from __future__ import annotations

import argparse
import sys

from bench.harness import (
    UNLIMITED_CONNECTION,
    UNLIMITED_EMULATOR,
    Bench,
    add_common_arguments,
    census,
    engine_limits,
    fmt,
    log,
    runs_finished,
    setup_org,
    wait_until,
)

GOAL_ERROR = 0.20
JUDGED_FROM = 0.25  # share of the entries done from which a prediction is judged


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument(
        "--calls-per-window",
        type=int,
        default=20,
        help="the emulator's and the connection's quota (0: lifted, the service's speed decides)",
    )
    parser.add_argument("--window-seconds", type=float, default=6.0)
    parser.add_argument("--batch-size", type=int, default=10, help="SYNC_BATCH_SIZE")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=3)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.calls_per_window:
        emulator_limits, connection_limits = engine_limits(
            args.calls_per_window, args.window_seconds, 5, 10**7
        )
    else:
        emulator_limits, connection_limits = UNLIMITED_EMULATOR, UNLIMITED_CONNECTION
    batch_env = {"SYNC_BATCH_SIZE": str(args.batch_size)}
    with Bench("eta", args) as bench:
        from django.test import override_settings

        from synclog import services
        from synclog.models import SyncRun
        from synclog.selectors.eta import run_eta

        emulator = bench.start_emulator(**emulator_limits)
        log(f"setting up {args.documents} bills")
        setup = setup_org(
            emulator,
            name="ETA",
            bills=args.documents,
            connection_limits=connection_limits,
            tenant_id=emulator.default_tenant_id(),
        )
        bench.start_workers(args.workers, concurrency=args.concurrency, extra_env=batch_env)
        with override_settings(SYNC_BATCH_SIZE=args.batch_size):
            [run] = services.bulk_resync(
                org=setup.org, document_ids=setup.document_ids, actor=setup.user
            )
            samples = []  # (share done, when, predicted end, basis)
            next_share = 0.0

            def sample() -> bool:
                nonlocal next_share
                current = SyncRun.objects.select_related("connection").get(pk=run.pk)
                if current.finished_at is not None:
                    return True
                done = current.pushed + current.nothing_to_push + current.failed + current.resolved
                share = done / current.total if current.total else 0.0
                if share >= next_share:
                    eta = run_eta(run=current)
                    if eta is not None and eta.finishes_at is not None:
                        samples.append((share, eta.now, eta.finishes_at, eta.basis))
                    next_share = (int(share * 10) + 1) / 10
                return False

            wait_until(sample, timeout=600 + args.documents, interval=0.1, what="the run to end")
        run.refresh_from_db()
        ended = run.finished_at
        duration = (ended - run.started_at).total_seconds()
        errors = []
        for share, at, predicted, basis in samples:
            to_go = (ended - at).total_seconds()
            error = abs((predicted - ended).total_seconds()) / to_go if to_go > 0 else 0.0
            if share >= JUDGED_FROM:
                errors.append(error)
            bench.result(
                "9 eta sample",
                f"done={fmt(share * 100, 0)}% at={fmt((at - run.started_at).total_seconds(), 1)}s "
                f"predicted_end={fmt((predicted - run.started_at).total_seconds(), 1)}s "
                f"real_end={fmt(duration, 1)}s error={fmt(error * 100, 1)}% basis={basis}",
            )
        counts = census(emulator.state(), setup)
        worst = max(errors, default=float("nan"))
        met = bool(errors) and worst <= GOAL_ERROR
        quota = (
            f"{args.calls_per_window} calls / {fmt(args.window_seconds, 1)} s"
            if args.calls_per_window
            else "lifted"
        )
        bench.result(
            "9 eta",
            f"documents={args.documents} quota={quota} batch={args.batch_size} "
            f"run_seconds={fmt(duration, 1)} samples={len(samples)} "
            f"worst_error_from_{int(JUDGED_FROM * 100)}pct={fmt(worst * 100, 1)}% "
            f"goal<={int(GOAL_ERROR * 100)}% {'met' if met else 'MISSED'} {counts.line()}",
        )
        assert runs_finished([run.pk])
        return 0 if counts.ok else 1


if __name__ == "__main__":
    sys.exit(main())
