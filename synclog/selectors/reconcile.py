"""What a connection's reconcile (drift detection, synclog.services.reconcile) last did and
when it runs next, for the connection page and the API's "Check the ledger now"."""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from integrations.models import Connection
from synclog.models import LedgerReconcile
from synclog.services.reconcile import reconcile_reads_changes


@dataclass(frozen=True)
class ReconcileState:
    reads_changes: bool  # the connection's ledger can be reconciled at all
    last_checked_at: datetime.datetime | None  # when the last reconcile ended (None: none has
    # read the ledger through yet, so entries_read and drifted say nothing)
    entries_read: int  # entries that changed in the ledger, read by the last complete read
    drifted: int  # records the last complete read found drifted
    last_error: str  # the last read failed so (it is read again next time)
    running_since: datetime.datetime | None
    queued_at: datetime.datetime | None  # asked for, not begun yet
    next_check_at: datetime.datetime | None  # beat's next turn, where known
    interval_minutes: int

    @property
    def checked(self) -> bool:
        return self.last_checked_at is not None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def queued(self) -> bool:
        return self.queued_at is not None


def connection_reconcile_state(*, connection: Connection) -> ReconcileState:
    """The connection's reconcile now; one query."""
    mark = LedgerReconcile.objects.filter(connection=connection).first()
    interval = datetime.timedelta(seconds=settings.SYNC_RECONCILE_INTERVAL_SECONDS)
    now = timezone.now()
    if mark is None:
        mark = LedgerReconcile(connection=connection)
    running = mark.running(now)
    next_check = None
    if mark.scheduled_at is not None and interval:
        next_check = mark.scheduled_at + interval
        if next_check < now:
            # Beat's turns come every interval from its start: the missed ones are past.
            next_check += interval * math.ceil((now - next_check) / interval)
    # A reconcile that ended without reading the ledger through (sent back for quota, or
    # refused by the ledger) has not checked anything: only a complete read advances
    # changed_since.
    checked = mark.changed_since is not None
    return ReconcileState(
        reads_changes=reconcile_reads_changes(connection),
        last_checked_at=mark.finished_at if checked else None,
        entries_read=mark.entries_read,
        drifted=mark.drifted,
        last_error=mark.last_error,
        running_since=mark.started_at if running else None,
        queued_at=mark.requested_at if mark.queued(now) else None,
        next_check_at=next_check,
        interval_minutes=max(1, round(interval.total_seconds() / 60)),
    )
