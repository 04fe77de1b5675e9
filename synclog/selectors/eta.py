"""How much of a connection's quota is spent, what waits for it, and when a run will be done
(issue 17, item 4): the quota meter of the connection pages and the ETA of the run pages and
`GET /syncs/{id}`.

The ETA is the later of two finishes: the quota's (the calls the run's entries and the work queued
ahead of them need, at the rate the ledger's window allows once what it still has is spent) and
the service's (those entries at the throughput the run has shown so far). Neither alone is right:
a first window is spent in seconds, and a small run never meets the quota at all."""

import datetime
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from integrations.connectors import connector_class_for
from integrations.models import Connection
from synclog.models import RecordStatus, SyncRecord, SyncRun
from synclog.ratelimit import Limits, QuotaUsage, get_rate_limiter
from synclog.rules import QUEUE_FOR_TRIGGER
from synclog.services.marking import bulk_batch_size
from synclog.services.quota import connection_quota, connection_quota_key

# The queues in the order the workers serve them (DESIGN §4: interactive first).
QUEUES = ("interactive", "sync", "bulk")
# A run's own throughput is trusted once this many entries are done and this long has passed;
# before that the ETA is the quota's alone.
MEASURED_AFTER_ENTRIES = 5
MEASURED_AFTER_SECONDS = 2.0
# The run's speed is measured over its last half minute of progress where the readings allow.
RATE_WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class QuotaMeter:
    """A connection's quota as the ledger counts it now, and its organisation's queue."""

    limits: Limits
    usage: QuotaUsage
    shared_by_app: bool  # the ledger counts one quota for our app key, every organisation's calls
    queue: dict[str, int]  # this connection's Pending records by queue, in serving order

    @property
    def window_left(self) -> int:
        return max(0, self.limits.per_window - self.usage.window_used)

    @property
    def day_left(self) -> int:
        return max(0, self.limits.per_day - self.usage.day_used)

    @property
    def window_minutes(self) -> float:
        return self.limits.window_seconds / 60

    @property
    def queued(self) -> int:
        return sum(self.queue.values())


@dataclass(frozen=True)
class Eta:
    """When a run's entries will be done, and what the estimate rests on."""

    entries: int  # the run's entries not done yet
    ahead: int  # Pending entries of the connection that go before them (interactive, automatic)
    seconds: float | None  # None: not before the ledger's daily limit frees
    basis: str  # "quota": the quota alone; "measured": with the run's own throughput
    now: datetime.datetime

    @property
    def finishes_at(self) -> datetime.datetime | None:
        if self.seconds is None:
            return None
        return self.now + datetime.timedelta(seconds=self.seconds)


def connection_quota_meter(*, connection: Connection) -> QuotaMeter:
    """The connection's quota (calls used and left in the ledger's window and day, a pause after
    a 429) and its Pending records by queue. Under an app-wide quota the usage is every
    organisation's together (so it explains a wait), the queue only this organisation's."""
    limits = connection_quota(connection=connection)
    usage = get_rate_limiter().usage(connection_quota_key(connection=connection), limits)
    counts = dict.fromkeys(QUEUES, 0)
    # COUNT(*), not of the id: the queue index (syncrecord_queue_idx) carries the trigger, so
    # a backlog is counted from the index alone. Reading each Pending record's row took 114 ms
    # of a large run's page for 52,000 of them (figure 3 at 10,000,000 attempts).
    pending = (
        SyncRecord.objects.filter(connection=connection, status=RecordStatus.PENDING)
        .values("pending_trigger")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in pending:
        counts[QUEUE_FOR_TRIGGER.get(row["pending_trigger"], "sync")] += row["n"]
    caps = connector_class_for(connection.provider).capabilities
    return QuotaMeter(
        limits=limits, usage=usage, shared_by_app=caps.quota_scope == "app", queue=counts
    )


def run_eta(*, run: SyncRun, meter: QuotaMeter | None = None) -> Eta | None:
    """The ETA of a run in progress (None once it has ended, or while a worker still prepares
    its selection and nothing is counted yet)."""
    if run.finished_at is not None or run.total == 0:
        return None
    done = run.pushed + run.nothing_to_push + run.failed + run.resolved
    entries = max(0, run.total - done)
    meter = meter or connection_quota_meter(connection=run.connection)
    queue = QUEUE_FOR_TRIGGER.get(run.trigger, "bulk")
    # What the workers serve first: the queues before this run's own.
    ahead = sum(meter.queue[name] for name in QUEUES[: QUEUES.index(queue)])
    now = timezone.now()
    measured = _measured_rate(run, done, now)
    caps = connector_class_for(run.connection.provider).capabilities
    # A bulk run's entries go in the engine's batches; a one-record push is a call of its own.
    batch_size = bulk_batch_size(run.connection.provider) if queue == "bulk" else 1
    batch_cost = caps.batch_call_cost if batch_size > 1 else 1
    seconds = eta_seconds(
        entries=entries + ahead,
        batch_size=batch_size,
        batch_cost=batch_cost,
        limits=meter.limits,
        usage=meter.usage,
        measured_rate=measured,
    )
    return Eta(
        entries=entries,
        ahead=ahead,
        seconds=seconds,
        basis="quota" if measured is None else "measured",
        now=now,
    )


def _measured_rate(run: SyncRun, done: int, now: datetime.datetime) -> float | None:
    """Entries a second the run has done lately: over the progress seen by the last
    RATE_WINDOW_SECONDS of ETA readings (this process's cache: the pages and the API poll), else
    since it started. Since the start alone would count the workers' start-up and the first
    window's burst against the rest of the run."""
    elapsed = (now - run.started_at).total_seconds()
    if done < MEASURED_AFTER_ENTRIES or elapsed < MEASURED_AFTER_SECONDS:
        return None
    at = now.timestamp()
    key = f"ledgersync:eta-progress:{run.pk}"
    seen = [(t, d) for t, d in cache.get(key, []) if at - t <= RATE_WINDOW_SECONDS]
    cache.set(key, [*seen[-50:], (at, done)], timeout=int(RATE_WINDOW_SECONDS * 2))
    if seen and at - seen[0][0] >= MEASURED_AFTER_SECONDS and done > seen[0][1]:
        return (done - seen[0][1]) / (at - seen[0][0])
    return done / elapsed


def eta_seconds(
    *,
    entries: int,
    batch_size: int,
    batch_cost: int,
    limits: Limits,
    usage: QuotaUsage,
    measured_rate: float | None,
) -> float | None:
    """Seconds until `entries` are done: the later of the quota's finish and the service's
    (`measured_rate` entries a second; None: not known yet). None when the calls they need do
    not fit in what is left of the ledger's daily limit."""
    if entries <= 0:
        return 0.0
    requests = math.ceil(entries / batch_size)
    calls = requests * batch_cost  # what the window counts (a QBO batch weighs 13 calls)
    if usage.day_used + calls > limits.per_day:
        return None
    window_rate = limits.per_window / limits.window_seconds  # calls a second, steady
    free_now = max(0, limits.per_window - usage.window_used)
    quota = usage.paused_for
    if calls > free_now:
        # What the window still has goes at once; the rest at its steady rate, and not before
        # the oldest call counted now leaves it.
        quota += max(usage.window_frees_in, (calls - free_now) / window_rate)
    if limits.per_second:
        quota = max(quota, usage.paused_for + requests / limits.per_second)
    service = entries / measured_rate if measured_rate else 0.0
    return max(quota, service)
