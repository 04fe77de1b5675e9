"""Syncs (runs), their transactions (push items), sync records and attempts, connections."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import (
    ErrorInfoSerializer,
    MissingMappingSerializer,
    error_info,
    id_field,
    record_error_info,
)
from integrations.models import Connection
from synclog.models import (
    AttemptOutcome,
    EntryType,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from synclog.selectors.eta import run_eta

STATUS_CODES = {code.value: code.label for code in StatusCode}
STATUS_CODE_HELP = "DESIGN §5: " + ", ".join(
    f"{code} {label}" for code, label in STATUS_CODES.items()
)
RECORD_STATUS_NAMES = {
    RecordStatus.PENDING: "pending",
    RecordStatus.COMPLETE: "complete",
    RecordStatus.FAILED: "failed",
}
MAX_IDS = 5000


class ConnectionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provider = serializers.CharField()


class SyncCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Push items in the sync.")
    pushed = serializers.IntegerField(help_text="Created or updated in the ledger.")
    nothing_to_push = serializers.IntegerField(help_text="Already up to date (2040).")
    failed = serializers.IntegerField(
        help_text="Failed, and neither pushed by a later sync nor marked complete since."
    )
    resolved = serializers.IntegerField(
        help_text="Failed in this sync and fixed since: pushed by a later sync, or marked "
        "complete by hand after a manual reconcile. No longer counted as failed."
    )
    pending = serializers.IntegerField(help_text="Not finished yet.")


class SyncEtaSerializer(serializers.Serializer):
    seconds = serializers.FloatField(
        allow_null=True,
        help_text="Seconds until the sync's entries are done; null when they need more calls "
        "than the ledger's daily limit has left today.",
    )
    finishes_at = serializers.DateTimeField(allow_null=True)
    entries = serializers.IntegerField(help_text="The sync's entries not done yet.")
    ahead = serializers.IntegerField(
        help_text="Entries of the same connection served before them (re-syncs by people, "
        "automatic changes)."
    )
    basis = serializers.ChoiceField(
        choices=["quota", "measured"],
        help_text="quota: from the ledger's quota alone (nothing finished yet); measured: with "
        "this sync's own speed so far.",
    )


class SyncSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The sync id.")
    status_code = serializers.SerializerMethodField(help_text=STATUS_CODE_HELP)
    status = serializers.SerializerMethodField(help_text="The status code's meaning.")
    finished = serializers.SerializerMethodField(help_text="True once the code leaves 1xxx.")
    data_pushed = serializers.SerializerMethodField(help_text="Something reached the ledger.")
    connection = serializers.SerializerMethodField()
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    initiated_by = serializers.CharField(source="actor_label")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    preparing = serializers.BooleanField(
        help_text="True while a worker still marks a large selection's entries: the counts "
        "are 0 until then."
    )
    counts = serializers.SerializerMethodField()
    eta = serializers.SerializerMethodField(
        help_text="When the sync will be done, from the ledger's quota and its speed so far; "
        "null once it has finished (or while its selection is prepared)."
    )
    retry_of = serializers.SerializerMethodField(help_text="The sync whose failures this retried.")
    notes = serializers.CharField()

    @extend_schema_field({"type": "integer", "enum": list(STATUS_CODES)})
    def get_status_code(self, run: SyncRun) -> int:
        return run.display_status_code

    def get_status(self, run: SyncRun) -> str:
        return STATUS_CODES.get(run.display_status_code, "")

    def get_finished(self, run: SyncRun) -> bool:
        return run.finished_at is not None

    def get_data_pushed(self, run: SyncRun) -> bool:
        return run.pushed > 0

    @extend_schema_field(ConnectionRefSerializer)
    def get_connection(self, run: SyncRun) -> dict:
        connection = run.connection
        return {"id": connection.pk, "name": connection.name, "provider": connection.provider}

    @extend_schema_field(SyncCountsSerializer)
    def get_counts(self, run: SyncRun) -> dict:
        done = run.pushed + run.nothing_to_push + run.failed + run.resolved
        return {
            "total": run.total,
            "pushed": run.pushed,
            "nothing_to_push": run.nothing_to_push,
            "failed": run.failed,
            "resolved": run.resolved,
            "pending": max(0, run.total - done),
        }

    @extend_schema_field(SyncEtaSerializer(allow_null=True))
    def get_eta(self, run: SyncRun) -> dict | None:
        eta = run_eta(run=run)
        if eta is None:
            return None
        return {
            "seconds": None if eta.seconds is None else round(eta.seconds, 1),
            "finishes_at": eta.finishes_at,
            "entries": eta.entries,
            "ahead": eta.ahead,
            "basis": eta.basis,
        }

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_retry_of(self, run: SyncRun):
        return str(run.retry_of.public_id) if run.retry_of_id else None


class SyncStartSerializer(serializers.Serializer):
    document_ids = serializers.ListField(
        child=id_field(), required=False, default=list, max_length=MAX_IDS
    )
    dataset_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=MAX_IDS
    )

    def validate(self, attrs):
        if not attrs["document_ids"] and not attrs["dataset_ids"]:
            raise serializers.ValidationError("Give document_ids, dataset_ids or both.")
        return attrs


class SyncStartedSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The sync id (of the first connection's sync).")
    status_code = serializers.IntegerField(help_text="1000: in progress (2040 if nothing to push).")
    syncs = SyncSerializer(
        many=True,
        help_text="One sync per active connection (most organisations have one: then this is "
        "that sync, the same as `id`).",
    )


class TransactionSerializer(serializers.Serializer):
    """One push item of a sync: one ledger entry (a document's bill/expense/invoice, or one of
    its payments) and how it ended in this sync."""

    id = serializers.IntegerField(help_text="The transaction id within the sync.")
    record_id = serializers.IntegerField(source="record.pk", help_text="The sync record.")
    document_id = serializers.IntegerField(source="record.document_id")
    document_number = serializers.CharField(source="record.document.number")
    payment_id = serializers.IntegerField(source="record.payment_id", allow_null=True)
    transaction_id = serializers.SerializerMethodField(
        help_text="Your id of the expense transaction, for items of expense datasets."
    )
    entry_type = serializers.ChoiceField(source="record.entry_type", choices=EntryType.choices)
    status = serializers.ChoiceField(
        source="outcome",
        choices=RunItemOutcome.choices,
        help_text="pending, pushed, nothing_to_push (already up to date), failed, or "
        "resolved (failed here; pushed by a later sync, or marked complete by hand, since: "
        "status_code is the failure's).",
    )
    status_code = serializers.IntegerField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    external_id = serializers.CharField(source="record.external_id", help_text="In the ledger.")
    error = serializers.SerializerMethodField()

    def get_transaction_id(self, item: SyncRunItem) -> str | None:
        # A missing reverse one-to-one raises a subclass of AttributeError: getattr's default.
        dataset_item = getattr(item.record.document, "expense_dataset_item", None)
        return dataset_item.transaction_id if dataset_item else None

    @extend_schema_field(ErrorInfoSerializer(allow_null=True))
    def get_error(self, item: SyncRunItem) -> dict | None:
        if item.outcome != RunItemOutcome.FAILED:
            return None
        attempt = self.context.get("attempts", {}).get(item.record_id)
        if attempt is not None:
            return error_info(
                code=attempt.status_code,
                message=attempt.error_message,
                explanation=attempt.explanation,
                hint=attempt.hint,
                detail=attempt.error_detail,
            )
        return record_error_info(item.record, code=item.status_code)


class SyncRecordSerializer(serializers.ModelSerializer):
    """One ledger entry of one document on one connection (a row of the Sync History page)."""

    status = serializers.SerializerMethodField(help_text="pending, complete or failed.")
    status_value = serializers.IntegerField(
        source="status", help_text="The history page's status: 0 Pending, 1 Complete, 2 Failed."
    )
    connection = serializers.IntegerField(source="connection_id")
    document = serializers.IntegerField(source="document_id")
    document_number = serializers.CharField(source="document.number")
    payment = serializers.IntegerField(source="payment_id", allow_null=True)
    expected_amount = serializers.SerializerMethodField(
        help_text="What the ledger should hold (Total vs Synced)."
    )
    last_error = serializers.SerializerMethodField()
    waits_for_bill = serializers.BooleanField(
        read_only=True,
        help_text="A payment waiting (pending) for its bill entry, which failed: nothing of it "
        "was sent, and it is pushed right after the bill when the bill is retried.",
    )

    class Meta:
        model = SyncRecord
        fields = [
            "id",
            "connection",
            "entry_type",
            "document",
            "document_number",
            "payment",
            "status",
            "status_value",
            "waits_for_bill",
            "external_id",
            "external_number",
            "expected_amount",
            "synced_amount",
            "synced_at",
            "booked",
            "attempt_count",
            "last_error",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": list(RECORD_STATUS_NAMES.values())})
    def get_status(self, record: SyncRecord) -> str:
        return RECORD_STATUS_NAMES[record.status]

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_expected_amount(self, record: SyncRecord) -> str:
        amount = record.payment.amount if record.payment_id else record.document.total
        return f"{amount:.2f}"

    @extend_schema_field(ErrorInfoSerializer(allow_null=True))
    def get_last_error(self, record: SyncRecord) -> dict | None:
        return record_error_info(record)


class SyncRecordStatusUpdateSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), min_length=1, max_length=MAX_IDS)
    status = serializers.ChoiceField(
        choices=[("complete", "Complete"), ("pending", "Pending")],
        help_text="complete: a failed record reconciled by hand in the ledger; pending: push "
        "it again.",
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SyncRecordStatusUpdatedSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class AttemptSerializer(serializers.ModelSerializer):
    record = serializers.IntegerField(source="record_id")
    connection = serializers.IntegerField(source="record.connection_id")
    entry_type = serializers.ChoiceField(source="record.entry_type", choices=EntryType.choices)
    sync_id = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField(help_text="Who: a user, an API key, or automatic.")
    outcome = serializers.ChoiceField(choices=AttemptOutcome.choices)
    missing_mapping = serializers.SerializerMethodField(
        help_text="For a 4000 missing mapping: what to map; null otherwise."
    )

    class Meta:
        model = SyncAttempt
        fields = [
            "id",
            "record",
            "connection",
            "entry_type",
            "sync_id",
            "trigger",
            "actor",
            "reason",
            "operation",
            "outcome",
            "status_code",
            "error_message",
            "explanation",
            "hint",
            "missing_mapping",
            "http_status",
            "duration_ms",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MissingMappingSerializer(allow_null=True))
    def get_missing_mapping(self, attempt: SyncAttempt) -> dict | None:
        return attempt.error_detail.get("missing_mapping")

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_sync_id(self, attempt: SyncAttempt):
        return str(attempt.run.public_id) if attempt.run_id else None

    def get_actor(self, attempt: SyncAttempt) -> str:
        return attempt.who


class ConnectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connection
        fields = [
            "id",
            "name",
            "provider",
            "status",
            "tenant_name",
            "connected_at",
            "last_checked_at",
            "last_error",
        ]
        read_only_fields = fields


class LedgerCheckSerializer(serializers.Serializer):
    """A connection's reconcile (drift detection): what the last check of the ledger found and
    whether one is under way."""

    last_checked_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the last check of the ledger ended (null: no check has read the "
        "ledger through yet, and entries_read and drifted are 0 for want of one).",
    )
    entries_read = serializers.IntegerField(
        help_text="Entries changed in the ledger that the last complete check read."
    )
    drifted = serializers.IntegerField(
        help_text="Synced entries that check found changed, voided, deleted or paid in the "
        "ledger (each is a failed sync record)."
    )
    last_error = serializers.CharField(
        help_text="Why the last check failed, if it did (empty otherwise)."
    )
    running_since = serializers.DateTimeField(
        allow_null=True, help_text="A check is reading the ledger since then."
    )
    queued_at = serializers.DateTimeField(
        allow_null=True,
        help_text="A check asked for then has not begun yet: it starts after the pushes "
        "people are waiting for, within the ledger's quota.",
    )
    next_check_at = serializers.DateTimeField(
        allow_null=True, help_text="The next scheduled check (null: not known yet)."
    )


# --- POST /syncs/preview: what a sync would change, before it is started --------------------------


class PreviewChangeSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="number, contact, issue date, due date, currency, total, line N, "
        "line N tracking, status, attachments; a payment's amount, paid on, paid from account."
    )
    ledger = serializers.SerializerMethodField(
        help_text="What the ledger holds now (null: nothing, as for a create)."
    )
    document = serializers.SerializerMethodField(help_text="What the push sends.")

    @staticmethod
    def _text(value) -> str | None:
        if value is None or value == "":
            return None
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def get_ledger(self, change) -> str | None:
        return self._text(change.there)

    def get_document(self, change) -> str | None:
        return self._text(change.here)


class PreviewEntrySerializer(serializers.Serializer):
    document_id = serializers.IntegerField(source="document.pk")
    document_number = serializers.CharField(source="document.number")
    entry_type = serializers.ChoiceField(choices=EntryType.choices)
    payment_id = serializers.IntegerField(source="payment.pk", allow_null=True, default=None)
    action = serializers.ChoiceField(
        choices=["create", "update", "unchanged", "refused", "cannot", "unread", "waits", "held"],
        help_text="create (not in the ledger), update (these fields change), unchanged "
        "(nothing is sent), refused (booked, voided or deleted in the ledger: nothing is "
        "sent), cannot (a mapping or the document stops it before any call), unread (the "
        "ledger could not be read), waits (a payment whose bill entry failed: it goes with the "
        "bill), held (the ledger's lock date).",
    )
    changes = PreviewChangeSerializer(many=True)
    reason = serializers.CharField(help_text="Why it is refused or cannot be pushed.")
    hint = serializers.CharField(help_text="How to get past it.")
    note = serializers.CharField()
    booked_on = serializers.DateField(allow_null=True)
    held_until = serializers.DateField(allow_null=True)


class ConnectionPreviewSerializer(serializers.Serializer):
    connection = ConnectionRefSerializer()
    documents_previewed = serializers.IntegerField(source="documents_shown")
    documents_not_previewed = serializers.IntegerField(
        source="documents_more",
        help_text="Documents of the sync beyond the first ones previewed: pushed by the same "
        "rules, not read from the ledger here.",
    )
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Entries by action.")
    ledger_error = serializers.SerializerMethodField(
        help_text="Why the ledger could not be read (when its quota is in use by syncs, the "
        "message says in how many seconds to try again), or null."
    )
    entries = PreviewEntrySerializer(many=True)

    @extend_schema_field(ErrorInfoSerializer(allow_null=True))
    def get_ledger_error(self, preview) -> dict | None:
        error = preview.ledger_error
        if error is None:
            return None
        return error_info(
            code=error.status_code,
            message=error.message,
            explanation=error.explanation,
            hint=error.hint,
        )


class SyncPreviewSerializer(serializers.Serializer):
    previews = ConnectionPreviewSerializer(many=True, help_text="One per active connection.")
