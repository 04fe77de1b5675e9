"""The yardsticks of figure 7 (bench/tenants.py): how soon an organisation could finish alone
under its quota, its finish under an equal split of a capacity (processor sharing), each
organisation's share of an app-wide quota while all of them were busy, percentiles; and the
interactive probe that re-syncs one bill at a time while the bulk runs go on."""

from __future__ import annotations

import argparse
import math
import threading
import time
from dataclasses import dataclass

from bench.harness import OrgSetup, fmt

CALLS_PER_BATCH = 2  # Xero: a search and a create
GOAL_RATIO = 1.5


@dataclass
class Tenant:
    setup: OrgSetup
    bills: int
    label: str  # "small" or "backlog"
    start: float = 0.0  # epoch seconds, before bulk_resync was called
    accepted: float = 0.0  # epoch seconds, when bulk_resync returned
    accept_seconds: float = 0.0
    run_ids: tuple[int, ...] = ()
    finished: float | None = None  # epoch seconds: the run's finished_at
    first_call: float | None = None  # epoch seconds: its first attempt's started_at
    quota_min: float = 0.0
    fair: float = 0.0

    @property
    def seconds(self) -> float:
        return self.finished - self.start


def quota_bound_minimum(bills: int, args: argparse.Namespace) -> float:
    """The earliest an organisation alone could finish under its own quota, with Xero's batches
    (see bench/tenants.py's docstring)."""
    batches = math.ceil(bills / args.batch_size)
    per_window = args.calls_per_window // CALLS_PER_BATCH
    round_trip = CALLS_PER_BATCH * args.latency_ms / 1000
    windows = math.ceil(batches / per_window)
    last = batches - (windows - 1) * per_window
    by_window = (windows - 1) * args.window_seconds + math.ceil(last / args.max_concurrent) * (
        round_trip
    )
    by_slots = math.ceil(batches / args.max_concurrent) * round_trip
    return max(by_window, by_slots)


def fair_share_finish(
    starts: list[float], sizes: list[float], caps: list[float], capacity: float
) -> list[float]:
    """Finish times under processor sharing: `capacity` split equally among the started and
    unfinished jobs, a job never above its cap, what a capped job leaves going to the others."""
    remaining = list(sizes)
    finish = [math.inf] * len(sizes)
    now = min(starts)
    while True:
        active = [i for i, r in enumerate(remaining) if r > 1e-9 and starts[i] <= now + 1e-12]
        pending = [s for i, s in enumerate(starts) if remaining[i] > 1e-9 and s > now + 1e-12]
        if not active and not pending:
            return finish
        if not active:
            now = min(pending)
            continue
        rates, left = {}, capacity
        ordered = sorted(active, key=lambda i: caps[i])
        for position, index in enumerate(ordered):
            rates[index] = min(caps[index], left / (len(ordered) - position))
            left -= rates[index]
        step = min(remaining[i] / rates[i] for i in active if rates[i] > 0)
        if pending:
            step = min(step, min(pending) - now)
        now += step
        for i in active:
            remaining[i] -= rates[i] * step
            if remaining[i] <= 1e-9 * max(1.0, sizes[i]):
                remaining[i] = 0.0
                finish[i] = now


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def spread(values: list[float]) -> str:
    return (
        f"p50={fmt(percentile(values, 0.5), 1)} p95={fmt(percentile(values, 0.95), 1)} "
        f"max={fmt(max(values), 1)}"
    )


def app_quota_minimum(bills: int, calls_per_second: float) -> float:
    """The earliest an organisation alone could finish under an app-wide quota of
    `calls_per_second`, one call per bill (MYOB: no batch endpoint)."""
    return bills / calls_per_second


def contended_shares(calls_at: dict[int, list[float]], start: float, end: float) -> list[float]:
    """Each organisation's calls between `start` and `end` (epoch seconds: the stretch when every
    one of them was busy) against an equal split of all of them: 1.0 is exactly its share."""
    counts = [sum(1 for at in times if start <= at <= end) for times in calls_at.values()]
    total = sum(counts)
    if end <= start or not total:
        return []
    return [count / (total / len(counts)) for count in counts]


def fair_share_seconds(done: list[Tenant], capacity: float) -> list[float]:
    """Each organisation's fair share (seconds) when `capacity` bills a second are split equally
    among those started and not done, each at most at its quota-bound rate."""
    finish = fair_share_finish(
        [t.start for t in done],
        [float(t.bills) for t in done],
        [t.bills / t.quota_min for t in done],
        capacity,
    )
    return [max(end - t.start, t.quota_min) for t, end in zip(done, finish, strict=True)]


def myob_fairness(done: list[Tenant], throughput: float) -> str:
    """The fairness line of organisations sharing MYOB's one key (see the docstring): their
    .fair is their share of the key's rate."""
    from synclog.models import SyncAttempt

    ratios = [t.seconds / t.fair for t in done]
    worst = max(done, key=lambda t: t.seconds / t.fair)
    measured = [
        t.seconds / fair for t, fair in zip(done, fair_share_seconds(done, throughput), strict=True)
    ]
    calls_at: dict[int, list[float]] = {t.setup.org.pk: [] for t in done}
    for org_id, started_at in SyncAttempt.objects.filter(org_id__in=list(calls_at)).values_list(
        "org_id", "started_at"
    ):
        calls_at[org_id].append(started_at.timestamp())
    busy_from, busy_to = max(t.start for t in done), min(t.finished for t in done)
    shares = contended_shares(calls_at, busy_from, busy_to)
    verdict = "met" if max(ratios) <= GOAL_RATIO else "MISSED"
    return (
        f"app_quota worst_ratio_to_fair_share_of_key={fmt(max(ratios), 2)} "
        f"({worst.setup.org.name}: {fmt(worst.seconds, 1)} s vs {fmt(worst.fair, 1)} s) "
        f"p50={fmt(percentile(ratios, 0.5), 2)} goal<={GOAL_RATIO} {verdict}; "
        f"ratio_to_fair_share_of_measured {spread(measured)}; "
        f"share_of_calls_while_all_busy ({fmt(busy_to - busy_from, 1)} s) "
        + (f"min={fmt(min(shares), 2)} max={fmt(max(shares), 2)}" if shares else "none")
    )


INTERACTIVE_PROBES = 200  # bills of the probe's organisation: one per re-sync


class InteractiveProbe:
    """A thread that re-syncs one bill of its own organisation every `every` seconds (each a
    first push, from the Re-sync dialog's service) and records how long each took to finish."""

    def __init__(self, setup: OrgSetup, every: float) -> None:
        self.setup, self.every = setup, every
        self.seconds: list[float] = []
        self.unfinished = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="interactive-probe", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=90)

    def _run(self) -> None:
        from django.db import connection

        from documents.models import Document
        from synclog import services
        from synclog.models import SyncRun

        try:
            for document_id in self.setup.document_ids:
                if self.stop_event.is_set():
                    return
                started = time.time()
                run = services.resync(
                    document=Document.objects.get(pk=document_id),
                    connection=self.setup.connection,
                    entry="bill",
                    actor=self.setup.user,
                )
                deadline = time.monotonic() + 60
                finished = None
                while finished is None and time.monotonic() < deadline:
                    finished = (
                        SyncRun.objects.filter(pk=run.pk)
                        .values_list("finished_at", flat=True)
                        .first()
                    )
                    if finished is None:
                        time.sleep(0.02)
                if finished is None:
                    self.unfinished += 1
                else:
                    self.seconds.append(finished.timestamp() - started)
                self.stop_event.wait(self.every)
        finally:
            connection.close()  # this thread's own connection
