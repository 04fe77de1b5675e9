"""The durable outbox (SyncRecord), the integration log (SyncAttempt) and syncs (SyncRun); the
Requires-attention counts the database maintains are in attention.py, each connection's
reconcile mark in reconcile.py.

The engine's vocabulary, one name for each thing:

    DocumentKind   (documents.models)   what the AP system holds: bill, invoice, expense
    EntryType      (here)               what a SyncRecord pushes: a document's entry (bill,
                                        invoice, expense) or one of its payments (bill_payment,
                                        invoice_payment); synclog.rules.ENTRY_TYPE_FOR_KIND and
                                        PAYMENT_TYPE_FOR_KIND map a DocumentKind to it
    EntryKind      (integrations.connectors.types) what a connector writes in the ledger: bill,
                                        invoice, spend; integrations.payloads.ENTRY_KIND_FOR_KIND
                                        maps a DocumentKind to it (a card or bank expense: spend)
    Operation      (here)               what one attempt did to the entry: created, updated,
                                        linked, nothing to push, or undecided (ended before)
    AttemptOutcome (here)               how one attempt ended: success, failed, skipped, unknown
    RunItemOutcome (here)               how a record ended in a run: pending, pushed, nothing to
                                        push, failed, resolved (fixed since); the run's counts
    StatusCode     (here)               DESIGN §5: the code of a run and of an attempt
    RecordStatus   (here)               where a record stands now: pending, complete, failed

Stored values of these choices never change (the database keeps them); a rename changes only
the Python name.
"""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import MD5, Coalesce
from django.utils import timezone

from accounts.models import OrgScopedModel

# Re-exported: callers import every model of synclog from synclog.models.
from synclog.models.attention import (  # noqa: F401
    AttentionChange,
    AttentionDocument,
    AttentionGroupCount,
    AttentionTotal,
)
from synclog.models.reconcile import LedgerReconcile  # noqa: F401
from synclog.models.unpushed import UnpushedDocument  # noqa: F401


class EntryType(models.TextChoices):
    """What a SyncRecord pushes (see the vocabulary above)."""

    BILL = "bill", "Bill"
    BILL_PAYMENT = "bill_payment", "Bill payment"
    INVOICE = "invoice", "Invoice"
    INVOICE_PAYMENT = "invoice_payment", "Invoice payment"
    EXPENSE = "expense", "Expense"


PAYMENT_ENTRY_TYPES = frozenset({EntryType.BILL_PAYMENT, EntryType.INVOICE_PAYMENT})


class RecordStatus(models.IntegerChoices):
    PENDING = 0, "Pending"
    COMPLETE = 1, "Complete"
    FAILED = 2, "Failed"


class Trigger(models.TextChoices):
    AUTO = "auto", "Automatic"
    MANUAL = "manual", "Manual"
    BULK = "bulk", "Bulk"
    API = "api", "API"
    RETRY = "retry", "Retry"
    SWEEP = "sweep", "Sweep"
    FORCE = "force", "Force sync"
    # The periodic read of what changed in the ledger (synclog.services.reconcile): its
    # findings are attempts of their own, never a push.
    RECONCILE = "reconcile", "Reconcile"


class StatusCode(models.IntegerChoices):
    """DESIGN §5: the status of a run, and of each attempt."""

    IN_PROGRESS = 1000, "In progress"
    IN_PROGRESS_LONG = 1010, "In progress, over ten minutes"
    SUCCESS = 2000, "Success, data pushed"
    NOTHING_TO_PUSH = 2040, "Success, nothing to push"
    CONFIGURATION = 4000, "Configuration error"
    ORG_DELETED = 4040, "Organisation deleted in the ledger"
    DEAUTHORISED = 4220, "De-authorised in the ledger"
    SUBSCRIPTION = 4260, "Ledger subscription expired"
    SERVER_ERROR = 5000, "Generic server error"
    DUPLICATION = 5080, "Duplication protection"
    DATA_PROCESSING = 5120, "Data processing error"
    DATA_PUSH = 5130, "Data push error"


# A run still in progress after this long shows as 1010 (In progress, over ten minutes).
LONG_RUNNING = datetime.timedelta(minutes=10)


def display_status_q(code: int, now: datetime.datetime) -> models.Q:
    """Runs whose display_status_code is `code` at `now`, as a query: 1000 and 1010 are both
    stored as 1000 and split on the run's age, the rule SyncRun.display_status_code applies."""
    cutoff = now - LONG_RUNNING
    if code == StatusCode.IN_PROGRESS:
        return models.Q(status_code=StatusCode.IN_PROGRESS, started_at__gte=cutoff)
    if code == StatusCode.IN_PROGRESS_LONG:
        return models.Q(status_code=StatusCode.IN_PROGRESS, started_at__lt=cutoff)
    return models.Q(status_code=code)


class SyncRun(OrgScopedModel):
    """A sync in the API's sense: a bulk re-sync, a force sync, an API sync, a retry of failures."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    status_code = models.PositiveSmallIntegerField(
        choices=StatusCode.choices, default=StatusCode.IN_PROGRESS
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    pushed = models.PositiveIntegerField(default=0)
    nothing_to_push = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # Items that failed in this run and are in the ledger since (pushed by a later sync, or
    # marked Complete by hand): no longer counted as failed, so retry and status agree.
    resolved = models.PositiveIntegerField(default=0, db_default=0)
    notes = models.TextField(blank=True, default="")
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    # A large selection is answered at once and marked Pending by a worker, a chunk at a time:
    # until then the ids of the documents chosen (scoped to the organisation when prepared), then
    # NULL; selection_prepared counts the ids already marked.
    selection = models.JSONField(null=True, blank=True, editable=False)
    selection_prepared = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["org", "-started_at"]),
            models.Index(fields=["org", "status_code", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"Sync {self.public_id}"

    @property
    def display_status_code(self) -> int:
        if (
            self.status_code == StatusCode.IN_PROGRESS
            and timezone.now() - self.started_at > LONG_RUNNING
        ):
            return StatusCode.IN_PROGRESS_LONG
        return self.status_code

    @property
    def duration(self) -> datetime.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def preparing(self) -> bool:
        return self.selection is not None


# The date a Sync History row shows and sorts by (see synclog.filters.SyncRecordFilter): when a
# Complete record was pushed (or marked Complete), when a Failed one failed. One expression, so
# that the history index below serves the page's ORDER BY.
SYNC_DATE = models.Case(
    models.When(status=RecordStatus.FAILED, then=models.F("updated_at")),
    default=Coalesce(models.F("synced_at"), models.F("updated_at")),
)


# The engine's words for an entry voided or deleted in the ledger (synclog.services._gone_error).
LEDGER_GONE_PREFIXES = ("Voided in ", "Deleted in ")
# ...and for the other changes the reconcile finds behind our back (synclog.services.reconcile):
# a Failed record whose message starts with one of these drifted from what we pushed.
LEDGER_DRIFT_PREFIXES = (
    *LEDGER_GONE_PREFIXES,
    "Changed in ",
    "Paid in ",
    "Payment deleted in ",
    "Payment voided in ",
)
# The same test of the message in SQL (SyncRecord.ledger_drifted with the status apart): the
# Documents list tells a drift from a failure with it, from the Failed records' two indexes.
LEDGER_DRIFT_MESSAGE = models.Q(
    *(models.Q(last_error_message__startswith=prefix) for prefix in LEDGER_DRIFT_PREFIXES),
    _connector=models.Q.OR,
)

# How the engine words a record held for the ledger's lock date (synclog.services.locks).
LOCK_HELD_PREFIX = "Locked until "

# The pending reason of a payment whose bill entry failed: it waits Pending with its bill (it is
# never pushed before it, and nothing of its own went wrong) until the bill's next push takes
# it along, right after the bill (synclog.services.outcomes._wait_for_bill).
WAITS_FOR_BILL = "waits for its bill entry"


class SyncRecord(OrgScopedModel):
    """One ledger entry of one document on one connection: the row of the Sync History page, the
    unit of the Requires-attention queue, and the durable outbox (Pending = still to push)."""

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="records"
    )
    entry_type = models.CharField(max_length=20, choices=EntryType.choices)
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="sync_records"
    )
    payment = models.ForeignKey(
        "documents.Payment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sync_records",
    )
    status = models.PositiveSmallIntegerField(
        choices=RecordStatus.choices, default=RecordStatus.PENDING
    )
    # What the ledger holds.
    external_id = models.CharField(max_length=100, blank=True, default="")
    external_number = models.CharField(max_length=100, blank=True, default="")
    synced_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True, default="")
    booked = models.BooleanField(default=False)
    uploaded_attachment_ids = models.JSONField(default=list, blank=True)
    # A payment of ours that a reconcile found deleted in the ledger (external_id is the
    # deleted one): its next push makes a new payment, keyed apart from the deleted one, which
    # the ledger's idempotency store would otherwise answer again. Cleared by that push's
    # success, or by accepting the ledger's version.
    payment_deleted_in_ledger = models.BooleanField(default=False, db_default=False)
    # The date the ledger's entry carries as we last pushed it (its issue date, re-dated or
    # not): a change to an entry the ledger holds in its locked period is held even when the
    # document's new date is open, since the ledger takes no change to that entry at all.
    synced_entry_date = models.DateField(null=True, blank=True)
    # Why it is pending, and for whom: the next attempt records these.
    version = models.PositiveIntegerField(default=1)
    pending_reason = models.CharField(max_length=200, blank=True, default="")
    pending_trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.AUTO)
    pending_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who, when it was not a signed-in user: "API key Partner ERP" for a change made over the API.
    pending_actor_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A create whose answer never came: search the ledger before creating again.
    unknown_outcome = models.BooleanField(default=False)
    # The last failure, shown with the ledger's words, what they mean and how to fix them.
    last_error_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_message = models.TextField(blank=True, default="")
    last_error_explanation = models.TextField(blank=True, default="")
    last_error_hint = models.TextField(blank=True, default="")
    # Requires attention groups Failed records by cause: equal messages are one cause (the
    # engine's messages are deterministic). Stored and computed by PostgreSQL on every write,
    # so that an index serves the groups and the engine never has to keep it up to date.
    last_error_digest = models.GeneratedField(
        expression=MD5("last_error_message"),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    # Retries of the current cycle, and the lease of the worker pushing it now.
    attempt_count = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "document", "entry_type"],
                condition=models.Q(payment__isnull=True),
                name="syncrecord_one_entry_per_document",
            ),
            models.UniqueConstraint(
                fields=["connection", "payment"],
                condition=models.Q(payment__isnull=False),
                name="syncrecord_one_entry_per_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "status", "entry_type", "-updated_at"]),
            models.Index(fields=["org", "entry_type", "-synced_at"]),
            # The engine's claim (a connection's Pending records due) and the quota meter's
            # queue (synclog.selectors.eta: those records by trigger, from the index alone).
            models.Index(
                fields=["connection", "status", "next_retry_at"],
                include=["pending_trigger"],
                name="syncrecord_queue_idx",
            ),
            models.Index(fields=["run"]),
            # The Documents list's sync status (synclog.selectors.document_state): each row's
            # and the filter's EXISTS probes by document, connection and status.
            models.Index(
                fields=["document", "connection", "status"],
                name="syncrecord_document_state_idx",
            ),
            # The Documents list's Failed and Drifted filters and column: a document's Failed
            # records split by kind, drift or failure, each from an index of its own that holds
            # only them, so that neither reads the records' messages (the Failed filter read
            # every Failed record's: 338 ms p95 at 78,002 of them). PostgreSQL keeps them right
            # on every write, whichever path writes the record.
            models.Index(
                fields=["document", "connection"],
                condition=models.Q(status=RecordStatus.FAILED) & ~LEDGER_DRIFT_MESSAGE,
                name="syncrecord_failed_idx",
            ),
            models.Index(
                fields=["document", "connection"],
                condition=models.Q(status=RecordStatus.FAILED) & LEDGER_DRIFT_MESSAGE,
                name="syncrecord_drifted_idx",
            ),
            # The records held for their connection's lock date (the connection page's count,
            # and the release when the lock moves): a few among every data push failure, which
            # the count read for their messages (51 ms at 26,000 of them).
            models.Index(
                fields=["connection"],
                condition=models.Q(
                    status=RecordStatus.FAILED,
                    last_error_code=StatusCode.DATA_PUSH,
                    last_error_message__startswith=LOCK_HELD_PREFIX,
                ),
                name="syncrecord_lock_held_idx",
            ),
            # Requires attention: the Failed records (and the Pending ones, which wait when their
            # connection needs a reconnect), a small part of all, in the order of a cause's
            # group (connection, code, digest of the message), newest first; with their
            # documents and entry types, so that the groups' counts need no row.
            models.Index(
                fields=[
                    "org",
                    "connection",
                    "status",
                    "last_error_code",
                    "last_error_digest",
                    "-updated_at",
                    "-id",
                ],
                include=["document", "entry_type"],
                condition=models.Q(status__in=[RecordStatus.FAILED, RecordStatus.PENDING]),
                name="syncrecord_attention_group_idx",
            ),
            # Sync History: a tab and status, newest sync date first; the count and a page's ids
            # come from the index alone (the date and connection filters read the included
            # columns).
            models.Index(
                models.F("org"),
                models.F("entry_type"),
                models.F("status"),
                SYNC_DATE.desc(),
                models.F("id").desc(),
                include=["synced_at", "updated_at", "connection"],
                name="syncrecord_history_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_entry_type_display()} of {self.document_id} on {self.connection_id}"

    @property
    def is_payment(self) -> bool:
        return self.entry_type in PAYMENT_ENTRY_TYPES

    @property
    def payment_in_ledger(self) -> bool:
        """A payment record whose payment the ledger still holds: ledgers do not edit payments,
        so it is done. One never pushed, or deleted or voided there since (the reconcile found
        it), is pushed as a new payment: by the push, the batch and the Re-sync preview alike."""
        return bool(self.external_id) and not self.payment_deleted_in_ledger

    @property
    def external_reference(self) -> str:
        """How a person finds the entry in the ledger: its number, or its id where the ledger
        gives it none (a payment: Xero's PaymentID, QuickBooks' BillPayment Id, MYOB's UID).
        "" while nothing was pushed."""
        return self.external_number or self.external_id

    @property
    def pending_who(self) -> str:
        """Whose change the next attempt pushes (SyncAttempt.who, before the attempt)."""
        if self.pending_actor_id:
            return self.pending_actor.get_username()
        return self.pending_actor_label

    @property
    def waits_for_bill(self) -> bool:
        """A payment waiting Pending for its failed bill entry (not pushed, not failed)."""
        return (
            self.status == RecordStatus.PENDING
            and self.is_payment
            and self.pending_reason == WAITS_FOR_BILL
        )

    @property
    def held_for_lock(self) -> bool:
        """Not sent: dated in the ledger's locked period, it waits for the lock to move."""
        return self.status == RecordStatus.FAILED and self.last_error_message.startswith(
            LOCK_HELD_PREFIX
        )

    @property
    def ledger_gone(self) -> bool:
        """Failed because its entry was voided or deleted in the ledger ("Voided in Xero", as
        the engine words it): only a new entry or a reconcile by hand gets past it."""
        return (
            self.status == RecordStatus.FAILED
            and not self.is_payment
            and self.last_error_message.startswith(LEDGER_GONE_PREFIXES)
        )

    @property
    def ledger_drifted(self) -> bool:
        """Failed because its entry (or payment) changed in the ledger behind our back, as the
        reconcile or a re-sync found it: "push ours again" or "accept the ledger's" fixes it."""
        return self.status == RecordStatus.FAILED and self.last_error_message.startswith(
            LEDGER_DRIFT_PREFIXES
        )


class RunItemOutcome(models.TextChoices):
    """How a record ended in a run (SyncRunItem.outcome); counted into the run's totals."""

    PENDING = "pending", "Pending"
    PUSHED = "pushed", "Pushed"
    NOTHING_TO_PUSH = "nothing_to_push", "Nothing to push"
    FAILED = "failed", "Failed"
    RESOLVED = "resolved", "Fixed since"


class SyncRunItem(models.Model):
    """A record pushed as part of a run, and how it ended in that run."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    record = models.ForeignKey(SyncRecord, on_delete=models.CASCADE, related_name="run_items")
    outcome = models.CharField(
        max_length=16, choices=RunItemOutcome.choices, default=RunItemOutcome.PENDING
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "record"], name="runitem_unique_record"),
        ]
        indexes = [models.Index(fields=["run", "outcome"])]

    def __str__(self) -> str:
        return f"{self.record} in {self.run}: {self.outcome}"


class Operation(models.TextChoices):
    """What an attempt did to the ledger's entry (SyncAttempt.operation)."""

    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    LINK = "link", "Linked to an existing entry"
    # The ledger already held the entry as it is: nothing was written (status code 2040).
    NOTHING_TO_PUSH = "noop", "Nothing to push"
    # The attempt ended (refused, failed, skipped) before the engine chose what to write.
    UNDECIDED = "none", "—"


class AttemptOutcome(models.TextChoices):
    """How one attempt ended (SyncAttempt.outcome)."""

    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    UNKNOWN = "unknown", "Unknown (answer lost)"


class SyncAttempt(models.Model):
    """The integration log: one try to push one record, with what was said on the wire."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(SyncRecord, on_delete=models.CASCADE, related_name="attempts")
    run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who, when it was not a signed-in user: the record's pending_actor_label at the attempt.
    actor_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    operation = models.CharField(
        max_length=16, choices=Operation.choices, default=Operation.UNDECIDED
    )
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(choices=StatusCode.choices)
    error_message = models.TextField(blank=True, default="")
    explanation = models.TextField(blank=True, default="")
    hint = models.TextField(blank=True, default="")
    # Machine-readable parts of the error, e.g. {"missing_mapping": {"kind", "local_id", "name"}}.
    error_detail = models.JSONField(default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Each HTTP exchange of the attempt: method, url, status, redacted and truncated bodies.
    calls = models.JSONField(default=list, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["record", "-started_at"]),
            models.Index(fields=["org", "-started_at"]),
            models.Index(fields=["run", "outcome"]),
            # A run's page: each item's last attempt in that run (the error summary, the items).
            models.Index(
                fields=["run", "record", "-started_at", "-id"],
                condition=models.Q(run__isnull=False),
                name="syncattempt_run_record_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.record}: {self.outcome}"

    @property
    def who(self) -> str:
        """Who made it happen: the user, the API key whose change it pushes, or the person or
        key that started its run; empty when the engine did it on its own (a sweep, a
        reconcile, a lock date that moved)."""
        if self.actor_id:
            return self.actor.get_username()
        if self.actor_label:
            return self.actor_label
        return self.run.actor_label if self.run_id else ""


class SyncStatusChange(models.Model):
    """Audit of Update Sync Status: who moved a record from what to what, and when."""

    record = models.ForeignKey(SyncRecord, on_delete=models.CASCADE, related_name="status_changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who, when it was not a signed-in user: the API key that changed it.
    actor_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    from_status = models.PositiveSmallIntegerField(choices=RecordStatus.choices)
    to_status = models.PositiveSmallIntegerField(choices=RecordStatus.choices)
    note = models.CharField(max_length=300, blank=True, default="")
    changed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.record}: {self.from_status} → {self.to_status}"
