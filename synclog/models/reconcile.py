"""Where each connection's reconcile stands (synclog.services.reconcile): what the ledger has
been read up to, what the last read found, and when the next is due or was asked for."""

from django.db import models


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
