"""The sync rules (DESIGN §4): which documents sync, as which entries, over which connections,
on which queue, and what a run calls an edit's change. The engine applies them; its pages, the
API and the selectors read them here instead of restating them."""

from collections.abc import Iterable

from django.db.models import Q

from documents.models import DocumentKind, DocumentStatus
from integrations.models import ConnectionStatus
from synclog.models import EntryType, Trigger

# §4.1: the ledger entry a document is pushed as, and the entry of each of its payments. A kind
# missing here is not pushed at all.
ENTRY_TYPE_FOR_KIND = {
    DocumentKind.BILL: EntryType.BILL,
    DocumentKind.INVOICE: EntryType.INVOICE,
    DocumentKind.EXPENSE: EntryType.EXPENSE,
}
PAYMENT_TYPE_FOR_KIND = {
    DocumentKind.BILL: EntryType.BILL_PAYMENT,
    DocumentKind.INVOICE: EntryType.INVOICE_PAYMENT,
    # An expense paid from a bank account is booked as a supplier bill and its payment.
    DocumentKind.EXPENSE: EntryType.BILL_PAYMENT,
}

# §4.1: a document syncs once approved (drafts and documents awaiting approval never do).
SYNCABLE_STATUSES = (DocumentStatus.APPROVED, DocumentStatus.PAID, DocumentStatus.VOID)

# §4.6: connections whose records are kept: needs_reauth records wait for the reconnect.
COLLECTING_STATUSES = (ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_REAUTH)

# §4.1: payload fields a change of which the ledger does not hold (it keeps no description).
UNSYNCED_FIELDS = frozenset({"description"})

# §4.10: bulk work is pushed in batches, on its own queue, so that it cannot starve one user's
# re-sync (interactive).
BATCHED_TRIGGERS = frozenset({Trigger.BULK, Trigger.FORCE, Trigger.RETRY, Trigger.API})
QUEUE_FOR_TRIGGER = {
    Trigger.MANUAL: "interactive",
    Trigger.AUTO: "sync",
    Trigger.SWEEP: "sync",
    Trigger.API: "bulk",
    Trigger.BULK: "bulk",
    Trigger.FORCE: "bulk",
    Trigger.RETRY: "bulk",
}

# The documents that sync (§4.1), as a filter of Document querysets.
SYNCABLE_DOCUMENTS = Q(status__in=SYNCABLE_STATUSES, kind__in=list(ENTRY_TYPE_FOR_KIND))


def document_syncs(document) -> bool:
    """§4.1: whether the document is pushed to the ledger (approved, paid or void, of a kind
    pushed as an entry)."""
    return document.kind in ENTRY_TYPE_FOR_KIND and document.status in SYNCABLE_STATUSES


def sync_refusal(document, connection) -> str:
    """Why this document cannot be pushed to this connection now, "" when it can: "kind" (not
    pushed as an entry), "status" (not approved yet) or "connection" (neither active nor
    waiting for a reconnect). Each caller words it for its own reader."""
    if document.kind not in ENTRY_TYPE_FOR_KIND:
        return "kind"
    if document.status not in SYNCABLE_STATUSES:
        return "status"
    if connection.status not in COLLECTING_STATUSES:
        return "connection"
    return ""


def is_paid(*, status: str, marked_paid: bool) -> bool:
    """§4.3, §4.4: a document whose payments are pushed (paid, or marked paid): only then is
    there a payment entry to choose, and a bulk re-sync pushes its payments."""
    return status == DocumentStatus.PAID or marked_paid


# What a run calls a change of each field the ledger holds (the reason of an edit's push).
FIELD_REASONS = {
    "number": "number changed",
    "contact": "contact changed",
    "issue_date": "issue date changed",
    "due_date": "due date changed",
    "currency": "currency changed",
    "total": "amount changed",
    "category": "category changed",
    "department": "department changed",
    "description": "description changed",
    "lines": "lines changed",
}


def reason_for_changes(changed_fields: Iterable[str]) -> str:
    """The reason a run gives for a document's changed fields ("total changed, lines
    changed")."""
    reasons = [FIELD_REASONS.get(name, f"{name} changed") for name in sorted(changed_fields)]
    return ", ".join(reasons)
