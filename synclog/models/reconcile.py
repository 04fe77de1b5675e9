"""Where each connection's reconcile stands (synclog.services.reconcile): what the ledger has
been read up to, what the last read found, and when the next is due or was asked for."""

import datetime

from django.db import models

# A reconcile that began (or was asked for) this long ago and never ended died with its worker
# (or its task with the broker): another may start.
RECONCILE_LEASE = datetime.timedelta(minutes=10)


class LedgerReconcile(models.Model):
    """A connection's periodic reconcile (synclog.services.reconcile): the ledger's time up to
    which its changes have been read (the next read asks for what changed since), and what the
    last one did."""

    connection = models.OneToOneField(
        "integrations.Connection", on_delete=models.CASCADE, related_name="reconcile"
    )
    changed_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    entries_read = models.PositiveIntegerField(default=0)
    drifted = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # When beat last sent this connection's reconcile (the next one is an interval later), and
    # when someone asked for one at once ("Check the ledger now"): queued until it starts.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reconcile of {self.connection_id} through {self.changed_since}"

    def running(self, now: datetime.datetime) -> bool:
        """A reconcile has begun and not ended (nor died: see RECONCILE_LEASE)."""
        return (
            self.started_at is not None
            and (self.finished_at is None or self.finished_at < self.started_at)
            and self.started_at >= now - RECONCILE_LEASE
        )

    def queued(self, now: datetime.datetime) -> bool:
        """Someone asked for a reconcile that has not begun yet (a task lost with its broker
        stops counting after RECONCILE_LEASE, so that the next request sends another)."""
        return (
            self.requested_at is not None
            and (self.started_at is None or self.started_at < self.requested_at)
            and self.requested_at >= now - RECONCILE_LEASE
        )
