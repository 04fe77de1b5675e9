"""What a re-sync would change, before anything is sent (issue 17, item 1): per entry, what the
ledger holds now beside the entry the push would send, decided by the push's own rules.

The payload is built by the push's own function (synclog.services.entries._build_payload) and
compared with the ledger's entry by the push's own comparison (entry_field_differences), the
entries are the run's own (the services' entry specs), and the ledger is read through the
connection's connector for a page: one batched read of the entries shown, counted in the
connection's quota. So what the preview shows is what the push will send. It writes nothing.
"""

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Organization
from documents.models import Attachment, Document, DocumentLine, Payment
from integrations.connectors.differences import FieldDifference, entry_field_differences
from integrations.connectors.errors import ConnectorError
from integrations.connectors.types import EntryPayload, EntryState
from integrations.models import Connection, ConnectionStatus, MappingKind
from integrations.payloads import build_payment_payload
from integrations.selectors import mapping_index
from synclog.models import RecordStatus, SyncRecord, Trigger
from synclog.rules import COLLECTING_STATUSES, ENTRY_TYPE_FOR_KIND, SYNCABLE_DOCUMENTS, is_paid

# The run's own pieces, so that the preview cannot drift from what the run pushes: which
# entries a re-sync marks, how a payload is built and hashed, and the push's refusals.
from synclog.services.entries import _build_payload, _reads_ledger_first, payload_hash
from synclog.services.locks import lock_check
from synclog.services.marking import EntrySpec, _entry_specs
from synclog.services.refusals import _gone_error, _known_booked_refusal, _known_gone_refusal
from synclog.services.runs import _bulk_specs


class PreviewAction(StrEnum):
    CREATE = "create"  # not in the ledger: the push creates it
    UPDATE = "update"  # in the ledger, and these fields change
    UNCHANGED = "unchanged"  # the push sends nothing (2040)
    REFUSED = "refused"  # the ledger holds it booked, voided or deleted: nothing is sent
    CANNOT = "cannot"  # our side (a mapping, the document): the push fails before any call
    UNREAD = "unread"  # the ledger could not be read: what it holds is not known
    WAITS = "waits"  # a payment whose bill entry failed: it goes when the bill does
    # Dated in the ledger's locked period (issue 17, item 2): not sent, held until the lock moves.
    HELD = "held"


@dataclass
class EntryPreview:
    """One entry of the re-sync: what the push will do with it, the fields that change (the
    ledger's value and ours; for a create, ours alone), and why it is refused or cannot go."""

    document: Document
    entry_type: str
    action: PreviewAction
    payment: Payment | None = None
    changes: list[FieldDifference] = field(default_factory=list)
    reason: str = ""
    hint: str = ""
    note: str = ""
    booked_on: datetime.date | None = None
    held_until: datetime.date | None = None

    @property
    def label(self) -> str:
        if self.payment is not None:
            return f"Payment of {self.payment.amount} on {self.payment.paid_at}"
        return f"{self.document.get_kind_display()} entry"


@dataclass
class ResyncPreview:
    """What a re-sync will do on one connection: the entries previewed (the first documents of a
    large selection) and how many documents are left out of it, and why the ledger could not be
    read when it could not (a ConnectorError, worded by the page)."""

    connection: Connection
    entries: list[EntryPreview]
    documents_shown: int = 0
    documents_more: int = 0
    ledger_error: ConnectorError | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PreviewAction, 0)
        for entry in self.entries:
            counts[entry.action] += 1
        return {str(action): count for action, count in counts.items()}


def document_resync_preview(
    *, document: Document, connection: Connection, entry: str
) -> ResyncPreview:
    """What the Re-sync dialog's push of this entry ("bill" or "payment") will change, read from
    the ledger now (one read of the linked entry). Writes nothing; raises nothing for the ledger
    (ledger_error says why it could not be read)."""
    if entry == "payment":
        paid = is_paid(status=document.status, marked_paid=document.marked_paid)
        payment_ids = list(document.payments.values_list("pk", flat=True)) if paid else []
        specs = _entry_specs(document.pk, document.kind, entry=False, payment_ids=payment_ids)
    else:
        specs = _entry_specs(document.pk, document.kind, entry=True, payment_ids=())
    preview = _preview(connection, specs, trigger=Trigger.MANUAL)
    preview.documents_shown = 1
    return preview


def bulk_resync_preview(
    *,
    org: Organization,
    document_ids: list[int],
    limit: int | None = None,
    connection: Connection | None = None,
) -> list[ResyncPreview]:
    """What a bulk re-sync of these documents will change on each connection it goes to (on
    `connection` alone when given): the entries of the first `limit` syncable documents
    (SYNC_PREVIEW_DOCUMENTS), read from the ledger in one batched call per connection, and how
    many documents are not previewed."""
    limit = settings.SYNC_PREVIEW_DOCUMENTS if limit is None else limit
    syncable = Document.objects.for_org(org).filter(SYNCABLE_DOCUMENTS, pk__in=document_ids)
    shown_ids = list(syncable.order_by("pk").values_list("pk", flat=True)[:limit])
    more = max(0, syncable.count() - len(shown_ids)) if len(shown_ids) == limit else 0
    shown: QuerySet[Document] = Document.objects.filter(pk__in=shown_ids)
    previews = []
    connections = Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES)
    if connection is not None:
        connections = connections.filter(pk=connection.pk)
    for each in connections:
        preview = _preview(each, _bulk_specs(shown, each), trigger=Trigger.BULK)
        preview.documents_shown, preview.documents_more = len(shown_ids), more
        previews.append(preview)
    return previews


# --- how each entry is decided -----------------------------------------------------------------


@dataclass
class _Entry:
    spec: EntrySpec
    document: Document
    record: SyncRecord | None
    payload: EntryPayload | None = None
    digest: str = ""
    error: ConnectorError | None = None


def _preview(connection: Connection, specs: list[EntrySpec], *, trigger: str) -> ResyncPreview:
    document_ids = {spec.document_id for spec in specs}
    documents = Document.objects.select_related("contact", "category", "department").in_bulk(
        document_ids
    )
    lines: dict[int, list[DocumentLine]] = {}
    for line in DocumentLine.objects.filter(document_id__in=document_ids).select_related(
        "category"
    ):
        lines.setdefault(line.document_id, []).append(line)
    records = {
        (r.document_id, r.entry_type, r.payment_id): r
        for r in SyncRecord.objects.filter(connection=connection, document_id__in=document_ids)
    }
    payments = Payment.objects.in_bulk([spec.payment_id for spec in specs if spec.payment_id])
    uploads: dict[int, set[int]] = {}
    for record in records.values():
        # Read once for all of them (the push's refusals name the ledger and the document).
        record.connection, record.document = connection, documents[record.document_id]
    for document_id, attachment_id in Attachment.objects.filter(
        document_id__in=document_ids
    ).values_list("document_id", "pk"):
        uploads.setdefault(document_id, set()).add(attachment_id)
    mappings = mapping_index(connection=connection)

    entries = []
    for spec in specs:
        entry = _Entry(spec, documents[spec.document_id], records.get(_key(spec)))
        if entry.record is not None:
            # As the run will mark it: the push's rules read the trigger off the record.
            entry.record.pending_trigger = trigger
        if spec.payment_id is None:
            try:
                entry.payload = _build_payload(
                    entry.document,
                    connection=connection,
                    mappings=mappings,
                    lines=lines.get(spec.document_id, []),
                )
            except ConnectorError as error:
                entry.error = error
            else:
                entry.digest = payload_hash(entry.payload)
        entries.append(entry)

    states, ledger_error = _read_ledger(connection, entries)
    contact_names = {
        m.external_id: m.external_name for m in mappings.values() if m.kind == MappingKind.CONTACT
    }
    in_push = {(spec.document_id, spec.entry_type) for spec in specs if spec.payment_id is None}
    previews = []
    for entry in entries:
        if entry.spec.payment_id is not None:
            payment = payments[entry.spec.payment_id]
            preview = _payment_preview(entry, payment, connection, records, in_push)
            _lock_preview(preview, entry, connection, sends=preview.action == PreviewAction.CREATE)
            previews.append(preview)
            continue
        record = entry.record
        pending_uploads = len(
            uploads.get(entry.document.pk, set())
            - set(record.uploaded_attachment_ids if record else ())
        )
        preview = _entry_preview(
            entry, connection, states, ledger_error is not None, pending_uploads
        )
        _lock_preview(preview, entry, connection, sends=_sends(entry, pending_uploads))
        # The ledger's contact ids, by the names they are mapped from.
        preview.changes = [
            FieldDifference(
                "contact", contact_names.get(change.there, change.there), entry.payload.contact_name
            )
            if change.field == "contact" and change.there
            else change
            for change in preview.changes
        ]
        previews.append(preview)
    return ResyncPreview(connection=connection, entries=previews, ledger_error=ledger_error)


def _key(spec: EntrySpec) -> tuple:
    return (spec.document_id, spec.entry_type, spec.payment_id)


def _read_ledger(
    connection: Connection, entries: list[_Entry]
) -> tuple[dict[str, EntryState], ConnectorError | None]:
    """The linked entries, as the ledger holds them now: one batched read per kind of entry,
    each request counted in the connection's quota. Nothing is read for a connection that
    cannot be called now."""
    wanted: dict = {}
    for entry in entries:
        if entry.payload is not None and entry.record is not None and entry.record.external_id:
            wanted.setdefault(entry.payload.kind, []).append(entry.record.external_id)
    if not wanted or connection.status != ConnectionStatus.ACTIVE:
        return {}, None
    # The services build on the selectors: imported here, not at the top.
    from integrations.services import connector_for_page

    states: dict[str, EntryState] = {}
    try:
        with connector_for_page(connection) as connector:
            for kind, external_ids in wanted.items():
                states.update(connector.get_entries(kind=kind, external_ids=external_ids))
    except ConnectorError as error:
        return {}, error
    return states, None


def _created_fields(payload: EntryPayload) -> list[FieldDifference]:
    """The entry a create sends, field by field (nothing there yet)."""
    fields = [
        FieldDifference("number", None, payload.number),
        FieldDifference("contact", None, payload.contact_name),
        FieldDifference("issue date", None, payload.issue_date),
    ]
    if payload.kind != "spend":
        fields.append(FieldDifference("due date", None, payload.due_date))
    fields += [
        FieldDifference("currency", None, payload.currency),
        FieldDifference("total", None, payload.total),
    ]
    empty = EntryState(
        external_id="", number="", status="", total=payload.total, amount_due=0, amount_paid=0,
        booked=False, lines=(),
    )  # fmt: skip
    fields += [
        change
        for change in entry_field_differences(payload, empty)
        if change.field.startswith("line")
    ]
    return fields


def _entry_preview(
    entry: _Entry,
    connection: Connection,
    states: dict[str, EntryState],
    unread: bool,
    uploads: int,
) -> EntryPreview:
    preview = EntryPreview(entry.document, entry.spec.entry_type, PreviewAction.UNCHANGED)
    ledger = connection.get_provider_display()
    record, payload = entry.record, entry.payload
    gone = _known_gone_refusal(record) if record is not None else None
    if gone is not None:
        # Voided or deleted there, as an earlier push or the reconcile found: the run sends
        # nothing and fails it again with these words (before its payload is built), whatever
        # the ledger answers now.
        preview.action, preview.reason, preview.hint = (
            PreviewAction.REFUSED,
            gone.message,
            gone.hint,
        )
        return preview
    if entry.error is not None:  # a missing mapping, a document that cannot be booked
        preview.action, preview.reason, preview.hint = (
            PreviewAction.CANNOT,
            entry.error.message,
            entry.error.hint,
        )
        return preview
    if record is None or not record.external_id:
        if payload.voided:
            preview.note = f"Voided before it reached {ledger}: nothing to send."
        else:
            preview.action, preview.changes = PreviewAction.CREATE, _created_fields(payload)
            preview.note = f"Not in {ledger}: it is created."
        return preview
    known_refusal = _known_booked_refusal(record, entry.digest)
    skipped = not _reads_ledger_first(record) and entry.digest == record.payload_hash
    state = states.get(record.external_id)
    if unread or connection.status != ConnectionStatus.ACTIVE:
        # What needs no read is still known: a run's unchanged entry and a known refusal.
        if known_refusal is not None:
            preview.action, preview.reason = PreviewAction.REFUSED, known_refusal.message
        elif skipped and not uploads:
            preview.note = "Unchanged since the last push: nothing to send."
        else:
            preview.action = PreviewAction.UNREAD
        return preview
    if state is None or (state.gone and not payload.voided):
        gone = _gone_error(ledger, state.status if state else "DELETED", record.external_number)
        preview.action, preview.reason, preview.hint = (
            PreviewAction.REFUSED,
            gone.message,
            gone.hint,
        )
        return preview
    preview.changes = entry_field_differences(payload, state)
    if skipped:
        # A bulk run sends nothing for an entry unchanged since its last push; the ledger may
        # hold it otherwise now (changed there), which only a re-sync of the document repairs.
        if preview.changes:
            preview.note = (
                f"{ledger} holds it otherwise since the last push: a bulk re-sync leaves it; "
                "re-sync this document alone to bring it in line."
            )
    elif known_refusal is not None or (preview.changes and state.booked):
        preview.action = PreviewAction.REFUSED
        preview.booked_on = state.updated_at.date() if state.updated_at else None
        preview.reason = f"booked in {ledger}" + (
            f" on {preview.booked_on.isoformat()}" if preview.booked_on else ""
        )
        # Partly paid, Xero still says AUTHORISED, which reads as open: say the payment instead.
        held_as = (
            f"{state.amount_paid} paid against it"
            if state.amount_paid and state.amount_due
            else state.status
        )
        preview.reason += f" ({held_as}): {ledger} takes no change to it."
        preview.hint = (
            f"If the change must reach {ledger}, remove the payment there first; otherwise "
            f"correct the document here to match {ledger}."
        )
        return preview
    elif preview.changes:
        preview.action = PreviewAction.UPDATE
    if uploads:
        preview.action = PreviewAction.UPDATE
        preview.changes.append(FieldDifference("attachments", None, f"{uploads} new"))
    if preview.action == PreviewAction.UNCHANGED and not preview.note:
        preview.note = f"{ledger} holds it as the document says: nothing to send."
    return preview


def _sends(entry: _Entry, uploads: int) -> bool:
    """Whether the push of this entry calls the ledger (synclog.services.push: its expected
    calls are more than none); only such a push is checked against the lock date."""
    record, payload = entry.record, entry.payload
    if entry.error is not None:
        return False
    if record is None or not record.external_id:
        return not payload.voided  # voided before it ever reached the ledger: nothing to void
    if _known_booked_refusal(record, entry.digest) is not None:
        return False
    skipped = not _reads_ledger_first(record) and entry.digest == record.payload_hash
    return not skipped or bool(uploads)


def _lock_preview(
    preview: EntryPreview, entry: _Entry, connection: Connection, *, sends: bool
) -> None:
    """The ledger's lock date, as the push applies it (synclog.services.locks.lock_check): an
    entry dated in the locked period is held, or re-dated to the first open day."""
    if not sends:
        return
    record = entry.record or SyncRecord(
        connection=connection,
        document=entry.document,
        entry_type=entry.spec.entry_type,
        payment=preview.payment,
    )
    check = lock_check(record, entry.payload)
    if check is None:
        return
    if check.held is not None:
        preview.action, preview.held_until = PreviewAction.HELD, connection.lock_date
        preview.reason, preview.hint = check.held.message, check.held.hint
        return
    dated = "paid on" if preview.payment is not None else "issue date"
    preview.changes = [
        FieldDifference(change.field, change.there, check.redated_to)
        if change.field == dated
        else change
        for change in preview.changes
    ]
    preview.note = f"{preview.note} It is {check.note}.".strip()


def _payment_preview(
    entry: _Entry,
    payment: Payment,
    connection: Connection,
    records: dict[tuple, SyncRecord],
    in_push: set[tuple],
) -> EntryPreview:
    preview = EntryPreview(
        entry.document, entry.spec.entry_type, PreviewAction.UNCHANGED, payment=payment
    )
    ledger = connection.get_provider_display()
    if entry.record is not None and entry.record.payment_in_ledger:
        preview.note = f"In {ledger} already: a payment is pushed once, never changed."
        return preview
    bill_type = ENTRY_TYPE_FOR_KIND[entry.document.kind]
    bill = records.get((entry.document.pk, bill_type, None))
    try:
        payload = build_payment_payload(
            payment,
            connection=connection,
            entry_external_id=bill.external_id if bill is not None else "",
        )
    except ConnectorError as error:
        preview.action, preview.reason, preview.hint = (
            PreviewAction.CANNOT,
            error.message,
            error.hint,
        )
        return preview
    bill_linked = bill is not None and bool(bill.external_id)
    bill_in_push = (entry.document.pk, bill_type) in in_push
    # synclog.services.entries._payment_bill's rules, read without its writes.
    if not bill_linked and bill is not None and not bill_in_push:
        if bill.status == RecordStatus.FAILED:
            preview.action = PreviewAction.WAITS
            preview.reason = "its bill entry failed; the payment goes once the bill is pushed."
            preview.hint = "Re-sync the bill entry (after fixing its error): the payment follows."
            return preview
        if bill.status == RecordStatus.COMPLETE:
            preview.action = PreviewAction.CANNOT
            preview.reason = (
                "its bill entry was marked Complete by hand, so ledgersync does not know which "
                f"{ledger} entry to pay."
            )
            preview.hint = f"Record this payment in {ledger} by hand too."
            return preview
    preview.action = PreviewAction.CREATE
    preview.changes = [
        FieldDifference("amount", None, payload.amount),
        FieldDifference("paid on", None, payload.paid_on),
        FieldDifference("paid from account", None, payload.account_code),
    ]
    entry_words = f"{entry.document.get_kind_display().lower()} entry"
    preview.note = f"Not in {ledger}: it is created" + (
        "." if bill_linked else f", after the {entry_words}."
    )
    if entry.record is not None and entry.record.payment_deleted_in_ledger:
        # Deleted or voided there (the reconcile found it): the push makes a new payment, as
        # synclog.services.push does for such a record; the old one cannot be used again.
        preview.note = (
            f"{entry.record.last_error_message or f'Gone from {ledger}'}: it is pushed to "
            f"{ledger} as a new payment."
        )
    return preview
