"""The engine's own errors, in words AP staff can act on: an entry gone from the ledger, a booked
entry that takes no change, duplicates carrying our reference, a connection needing a reconnect."""

from integrations.connectors.errors import (
    AuthError,
    BookedError,
    DuplicateError,
    EntryGoneError,
    OrganisationGoneError,
)
from integrations.connectors.types import EntryState
from integrations.models import Connection
from synclog.models import LEDGER_GONE_PREFIXES, StatusCode, SyncAttempt, SyncRecord
from synclog.rules import BATCHED_TRIGGERS


def _reconnect_error(connection: Connection) -> AuthError:
    """Why a record of a connection that needs a reconnect waits, and what to do."""
    ledger = connection.get_provider_display()
    # The refusal that marked the connection decides the code: 4040 when the organisation
    # itself is gone from the ledger, else 4220.
    refused_with = (
        SyncAttempt.objects.filter(
            record__connection=connection,
            status_code__in=(StatusCode.ORG_DELETED, StatusCode.DEAUTHORISED),
        )
        .order_by("-id")
        .values_list("status_code", flat=True)
        .first()
    )
    error_class = OrganisationGoneError if refused_with == StatusCode.ORG_DELETED else AuthError
    return error_class(
        connection.last_error or f"{ledger} refused ledgersync's access.",
        explanation=f"{ledger} no longer accepts this connection's authorisation (it was "
        "revoked or expired): nothing can be pushed until an admin reconnects.",
        hint=f"An admin must reconnect {ledger}: Integrations › {connection.name} › Reconnect. "
        "The waiting entries are pushed then.",
    )


def _known_booked_refusal(record: SyncRecord, digest: str) -> BookedError | None:
    """A change to an entry that an earlier push found booked (paid, or in a locked period),
    in a bulk, force, API or retry run: not sent. The ledger refuses it every time, and such a
    run over N paid bills whose payloads all changed (say, vendors mapped to contacts since)
    spent N calls of the quota on refusals at every run. A manual re-sync reads the entry
    first (its payment may be gone since); the push after an edit asks the ledger once.
    An entry known voided or deleted there keeps its own words (_known_gone_refusal)."""
    gone = _known_gone_refusal(record)
    if gone is not None:
        return gone
    if (
        not record.booked
        or not record.external_id
        or record.is_payment
        or record.pending_trigger not in BATCHED_TRIGGERS
        or digest == record.payload_hash
    ):
        return None
    ledger = record.connection.get_provider_display()
    entry = f"{record.document.get_kind_display()} entry"
    return BookedError(
        f"{ledger} holds this entry as paid or closed: the change was not sent.",
        explanation=f"The entry is paid, voided or otherwise closed in {ledger}, so {ledger} "
        "refuses any change to it; ledgersync knows this from an earlier push and did not send "
        "the change again.",
        hint=f"If the change must reach {ledger}, remove the payment there, then Re-sync › "
        f"{entry} on the document (it reads {ledger} first); otherwise correct the document "
        f"here to match {ledger}, or mark this record Complete after checking.",
    )


def _known_gone_refusal(record: SyncRecord) -> EntryGoneError | None:
    """A push of an entry that an earlier push or the reconcile found voided or deleted in the
    ledger (SyncRecord.ledger_gone: its message stays while it is Pending again), in a bulk,
    force, API or retry run: not sent, and failed again with the same words, so that it keeps
    its fix ("Push as a new entry") and its Requires-attention group. The generic booked
    refusal told the user to remove a payment that is not there. A manual re-sync reads the
    entry first; "Push as a new entry" unlinks it first."""
    if (
        record.is_payment
        or not record.external_id
        or record.pending_trigger not in BATCHED_TRIGGERS
        or not record.last_error_message.startswith(LEDGER_GONE_PREFIXES)
    ):
        return None
    return EntryGoneError(
        record.last_error_message,
        explanation=record.last_error_explanation,
        hint=record.last_error_hint,
    )


def _booked_differences_error(ledger: str, state: EntryState, differences: list[str]):
    return BookedError(
        f"{ledger} holds this entry as {state.status} and refuses changes to it: "
        + "; ".join(differences)
        + ".",
        explanation=f"The entry is paid (or closed) in {ledger}, so {ledger} does not let "
        "anyone change it; ledgersync did not send the change.",
        hint=f"If the change must reach {ledger}, remove the payment there and re-sync; "
        f"otherwise correct the document here to match {ledger}, or mark this record "
        "Complete after checking.",
    )


# How a Failed record whose entry is gone from the ledger begins its message (see
# SyncRecord.ledger_gone): the Integrations tab then offers to push it as a new entry.
GONE_WORDS = {"VOIDED": "Voided", "DELETED": "Deleted"}


def _gone_error(ledger: str, status: str, number: str, *, raw: str = "") -> EntryGoneError:
    # Each ledger words it its own way (Xero VOIDED, QuickBooks Deleted).
    word = GONE_WORDS.get(status.upper(), "Voided")
    entry = f"The entry {number}" if number else "The entry"
    # A voided entry stays in the ledger as history; a deleted one is simply not there.
    kept = (
        f"{ledger} keeps it as history and takes no change or payment for it"
        if word == "Voided"
        else f"it is no longer in {ledger}, and an update cannot bring it back"
    )
    return EntryGoneError(
        f"{word} in {ledger}",
        raw=raw,
        explanation=f"{entry} was {word.lower()} in {ledger} after ledgersync pushed it: "
        f"{kept}, so re-syncing it cannot help.",
        hint=f"If the document is still owed, use “Push as a new entry” on its Integrations "
        f"tab: {ledger} gets a new entry and the payments follow (the {word.lower()} one stays "
        f"as it is). If {ledger} is right, void the document here, or mark this record "
        "Complete in Sync History.",
    )


def _duplicate_error(count: int) -> DuplicateError:
    return DuplicateError(
        f"{count} entries in the ledger carry this document's reference.",
        explanation="The ledger already holds more than one entry for this document, so "
        "ledgersync will not guess which is right or create another.",
        hint="Delete or void the extra entries in the ledger, then re-sync; or mark this "
        "record Complete after checking.",
    )
