"""`python -m bench.drills`: the command line (the package docstring says what each drill does)."""

from __future__ import annotations

import argparse
import sys

import bench.drills
from bench.drills.faults import drill_faults
from bench.drills.kills import drill_kills
from bench.drills.pg_restart import run_on_own_server
from bench.drills.redis_outage import drill_redis
from bench.harness import Bench, add_common_arguments, add_ledger_argument, log


def parse_args(argv=None) -> argparse.Namespace:
    # prog: the usage line reads as it did when the drills were one module, drills.py.
    parser = argparse.ArgumentParser(
        prog="drills.py", description=bench.drills.__doc__.split("\n\n")[0]
    )
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


DRILLS = {"a": drill_kills, "b": drill_redis, "c": drill_faults}


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
