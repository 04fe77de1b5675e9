"""The sync rules (DESIGN §4): which documents sync, as which entries, over which connections,
on which queue. The engine, its pages, the API and the selectors read them here."""

from documents.models import DocumentKind, DocumentStatus
from integrations.models import ConnectionStatus
from synclog.models import EntryType, Trigger

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


SYNCABLE_STATUSES = (DocumentStatus.APPROVED, DocumentStatus.PAID, DocumentStatus.VOID)


# Connections whose records are kept: needs_reauth records wait for the reconnect.
COLLECTING_STATUSES = (ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_REAUTH)


# Payload fields a change of which the ledger does not hold (it keeps no description).
UNSYNCED_FIELDS = frozenset({"description"})


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
