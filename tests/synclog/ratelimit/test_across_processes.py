"""The rate limiter across processes: spawned workers asking one key at once never exceed the
window, the concurrency or the second, and still use the quota (both implementations)."""

import json
import math
import multiprocessing
import time

from synclog.ratelimit import Grant, Limits
from tests.synclog.ratelimit.conftest import make_limiter

PROCESSES = 4
HAMMER_SECONDS = 1.5
HAMMER_LIMITS = Limits(per_window=20, window_seconds=1.0, max_concurrent=2)
HOLD_SECONDS = 0.002  # the "ledger call" made under each grant


def hammer(spec, key, barrier, out_path, limits=HAMMER_LIMITS, seconds=HAMMER_SECONDS):
    """One worker process: ask, make the call, release; when refused, wait as told, like a
    rescheduled task would. Records when each grant was asked for, received and released."""
    limiter = make_limiter(spec)
    barrier.wait()
    end = time.time() + seconds
    grants = []
    while (before := time.time()) < end:
        result = limiter.try_acquire(key, limits, lease_seconds=5)
        after = time.time()
        if isinstance(result, Grant):
            time.sleep(HOLD_SECONDS)
            released = time.time()
            limiter.release(result)
            grants.append((before, after, released))
        else:
            time.sleep(max(0.0, min(result, end - time.time())))
    with open(out_path, "w") as f:
        json.dump({"start": end - seconds, "end": end, "grants": grants}, f)


def hammer_from_processes(spec, tmp_path, *args) -> list[dict]:
    """Run hammer() in PROCESSES spawned processes at once; each one's record."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    outs = [tmp_path / f"worker-{i}.json" for i in range(PROCESSES)]
    workers = [
        ctx.Process(target=hammer, args=(spec, "shared", barrier, out, *args)) for out in outs
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return [json.loads(out.read_text()) for out in outs]


def test_across_processes_the_window_holds_and_the_quota_is_used(spec, tmp_path):
    runs = hammer_from_processes(spec, tmp_path)
    grants = sorted(g for run in runs for g in run["grants"])
    limits = HAMMER_LIMITS

    # Each grant was counted at some instant between asking and receiving. A violation is
    # certain only if more than per_window grants fit, asking to receiving, in under a window.
    for asked, _, _ in grants:
        inside = [g for g in grants if g[0] >= asked and g[1] < asked + limits.window_seconds]
        assert len(inside) <= limits.per_window, f"{len(inside)} grants within one window"

    # Likewise a slot was certainly held from receipt to the release call: never more than
    # max_concurrent of those intervals may overlap.
    events = sorted([(g[1], 1) for g in grants] + [(g[2], -1) for g in grants])
    held = peak = 0
    for _, step in events:
        held += step
        peak = max(peak, held)
    assert peak <= limits.max_concurrent

    span = max(run["end"] for run in runs) - min(run["start"] for run in runs)
    possible = limits.per_window * math.ceil(span / limits.window_seconds)
    share = len(grants) / possible
    print(
        f"\n{spec[0]}: {len(grants)} grants by {PROCESSES} processes in {span:.2f} s, "
        f"quota-bound maximum {possible} ({share:.0%}); peak concurrency {peak}"
    )
    assert len(grants) <= possible
    assert share >= 0.8


# The minute has room for ten times more: only the second holds the processes back.
BURST_LIMITS = Limits(per_window=500, window_seconds=60, max_concurrent=4, per_second=6)
BURST_SECONDS = 2.5


def test_across_processes_no_second_holds_more_than_per_second_calls(spec, tmp_path):
    runs = hammer_from_processes(spec, tmp_path, BURST_LIMITS, BURST_SECONDS)
    grants = sorted(g for run in runs for g in run["grants"])
    limit = BURST_LIMITS.per_second

    # As above: a violation is certain only if more than per_second grants fit, asking to
    # receiving, in under a second.
    for asked, _, _ in grants:
        inside = [g for g in grants if g[0] >= asked and g[1] < asked + 1.0]
        assert len(inside) <= limit, f"{len(inside)} grants within one second"

    span = max(run["end"] for run in runs) - min(run["start"] for run in runs)
    possible = limit * math.ceil(span)
    share = len(grants) / possible
    print(f"\n{spec[0]}: {len(grants)} grants in {span:.2f} s, at most {possible} ({share:.0%})")
    assert share >= 0.8
