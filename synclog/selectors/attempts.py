"""Reads for the Integrations tab of a document and for the event log, scoped to one organisation.

The integration log is the SyncAttempt table; a payment's attempts hang off a record whose
document is the bill, so everything a document went through is found from the document.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, F, QuerySet
from django.http import Http404

from accounts.models import Organization
from documents.models import Document
from integrations.models import Connection, ConnectionStatus
from synclog.filters import AttemptFilter
from synclog.models import RecordStatus, StatusCode, SyncAttempt, SyncRecord
from synclog.rules import COLLECTING_STATUSES, is_paid, sync_refusal
from synclog.selectors.marks import records_marked_complete_by_hand

# What the log pages read of an attempt and of what it belongs to, in the same query.
ATTEMPT_RELATED = (
    "actor",
    "run",
    "record",
    "record__payment",
    "record__connection",
    "record__document",
    "record__document__contact",
)


def status_code_label(code: int | None) -> str:
    """The label of a status code; empty for none or an unknown one."""
    if code is None:
        return ""
    try:
        return StatusCode(code).label
    except ValueError:
        return ""


# --- the Integrations tab of one document --------------------------------------------------------


def connection_list_for_tab(*, org: Organization) -> list[Connection]:
    """Every connection of the organisation, working ones first: a disconnected ledger keeps its
    history, so it stays selectable."""
    connections = list(Connection.objects.for_org(org))
    connections.sort(key=lambda c: (c.status != ConnectionStatus.ACTIVE, c.name.lower(), c.pk))
    return connections


def connection_choose(*, connections: list[Connection], connection_id: str | None) -> Connection:
    """The chosen connection among the organisation's; an unknown or foreign id is a 404."""
    if connection_id in (None, ""):
        return connections[0]
    for connection in connections:
        if str(connection.pk) == str(connection_id):
            return connection
    raise Http404("No such connection.")


def document_sync_records(*, document: Document, connection: Connection) -> list[SyncRecord]:
    """The document's ledger entries on one connection: the bill first, then its payments.

    Each record carries `expected_amount` (what the ledger should hold) for Total vs Synced,
    and `hand_mark`: who marked it Complete by hand, when and why, where it is Complete on that
    mark rather than on a push of ours (else None).
    """
    records = list(
        SyncRecord.objects.filter(document=document, connection=connection)
        .select_related("payment", "pending_actor")
        .order_by(F("payment__paid_at").asc(nulls_first=True), "id")
    )
    marks = records_marked_complete_by_hand(
        records=[record for record in records if record.status == RecordStatus.COMPLETE]
    )
    for record in records:
        record.hand_mark = marks.get(record.pk)
        record.expected_amount = record.payment.amount if record.payment_id else document.total
        record.amount_differs = (
            record.synced_amount is not None and record.synced_amount != record.expected_amount
        )
        record.last_error_label = status_code_label(record.last_error_code)
    return records


def document_attempts(*, document: Document, connection: Connection) -> QuerySet[SyncAttempt]:
    """The integration log of one document on one connection, newest first."""
    return (
        SyncAttempt.objects.filter(
            org_id=document.org_id,
            record__document=document,
            record__connection=connection,
        )
        .select_related(*ATTEMPT_RELATED)
        .order_by("-started_at", "-id")
    )


def _pretty_body(body: str) -> str:
    # Bodies are stored redacted and possibly truncated: indent them when they are whole JSON.
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return body


def attempts_with_display_calls(attempts: Iterable[SyncAttempt]) -> list[SyncAttempt]:
    """Give each attempt `display_calls`: its HTTP exchanges with readable bodies."""
    attempts = list(attempts)
    for attempt in attempts:
        calls = attempt.calls if isinstance(attempt.calls, list) else []
        attempt.display_calls = [
            {
                **call,
                "request_body": _pretty_body(call.get("request_body", "")),
                "response_body": _pretty_body(call.get("response_body", "")),
            }
            for call in calls
        ]
    return attempts


@dataclass(frozen=True)
class SyncAvailability:
    """Whether this document can be pushed to this connection now, and if not, why."""

    can_sync: bool
    reason: str = ""


def document_sync_availability(*, document: Document, connection: Connection) -> SyncAvailability:
    """Whether the document can be pushed to the connection now, and if not why, by the rules
    the re-sync applies (synclog.rules.sync_refusal), so that a page offers only what works."""
    # The rules synclog.services.resync applies, so that the page offers only what works.
    refusal = sync_refusal(document, connection)
    if refusal == "kind":
        return SyncAvailability(
            False, f"{document.get_kind_display()}s are not pushed to the ledger as entries."
        )
    if refusal == "status":
        return SyncAvailability(
            False,
            f"This {document.get_kind_display().lower()} is "
            f"{document.get_status_display().lower()}: it is pushed to the ledger once approved.",
        )
    if refusal == "connection":
        return SyncAvailability(
            False,
            f"{connection.name} is {connection.get_status_display().lower()}: an admin can "
            "enable or reconnect it in Integrations.",
        )
    return SyncAvailability(True)


def document_has_payment_entry(*, document: Document) -> bool:
    """DESIGN §4.3: the payment entry can be chosen only for a paid or marked-paid document."""
    return is_paid(status=document.status, marked_paid=document.marked_paid)


def document_booked_entries(*, document: Document) -> list[SyncRecord]:
    """The document's entries that the ledger holds as booked (paid, or closed there): it will
    refuse any change to them, so the edit page warns before one is saved."""
    return list(
        SyncRecord.objects.for_org(document.org)
        .filter(
            document=document,
            payment__isnull=True,
            booked=True,
            connection__status__in=COLLECTING_STATUSES,
        )
        .exclude(external_id="")
        .select_related("connection")
        .order_by("connection__name")
    )


def records_pending(records: list[SyncRecord]) -> bool:
    """Whether any of the records is on its way to the ledger (a payment waiting for its
    failed bill is not: it goes when the bill is retried)."""
    return any(
        record.status == RecordStatus.PENDING and not record.waits_for_bill for record in records
    )


@dataclass(frozen=True)
class ChainState:
    """The document's bill and its payments on one connection, as one thing: `state` is
    "failed", "pending", "complete" (some marked Complete by hand) or "in_ledger" (the worst of
    its entries), `summary` says it in a sentence."""

    state: str
    summary: str
    payments: int
    waiting: int


def document_chain_state(*, records: list[SyncRecord], connection: Connection) -> ChainState | None:
    """The chain of `document_sync_records` (no query): None without a payment record (a lone
    entry says its own state)."""
    entry = next((record for record in records if not record.is_payment), None)
    payments = [record for record in records if record.is_payment]
    if not payments:
        return None
    n = len(payments)
    noun = f"{n} payment{'s' if n != 1 else ''}"
    waiting = sum(1 for record in payments if record.waits_for_bill)
    statuses = {record.status for record in records}
    ledger = connection.name
    kind = entry.get_entry_type_display().lower() if entry is not None else "bill"
    if RecordStatus.FAILED in statuses:
        if entry is not None and entry.status == RecordStatus.FAILED:
            follow = (
                (
                    "; its payment waits for it and goes right after it when it is retried"
                    if waiting == 1
                    else f"; {waiting} of its payments wait for it and go right after it when "
                    "it is retried"
                )
                if waiting
                else ""
            )
            return ChainState("failed", f"The {kind} entry failed{follow}.", n, waiting)
        failed = sum(1 for record in payments if record.status == RecordStatus.FAILED)
        entry_is = (
            "marked Complete by hand"
            if entry is not None and getattr(entry, "hand_mark", None)
            else f"in {ledger}"
        )
        return ChainState(
            "failed", f"{failed} of the {noun} failed; the {kind} entry is {entry_is}.", n, 0
        )
    if RecordStatus.PENDING in statuses:
        return ChainState(
            "pending", f"On its way to {ledger}: the {kind} entry first, then its {noun}.", n, 0
        )
    marked = [record for record in records if getattr(record, "hand_mark", None)]
    if marked:
        # Complete on a person's word: ledgersync cannot say they are in the ledger.
        if marked == [entry]:
            which = f"the {kind} entry was"
        elif len(marked) == len(records):
            which = "all of them were"
        else:
            which = f"{len(marked)} of them {'was' if len(marked) == 1 else 'were'}"
        return ChainState(
            "complete",
            f"The {kind} entry and its {noun} are Complete; {which} marked Complete by hand, "
            "not on a push of ledgersync's.",
            n,
            0,
        )
    return ChainState("in_ledger", f"The {kind} entry and its {noun} are in {ledger}.", n, 0)


# --- the event log -------------------------------------------------------------------------------


def attempt_filterset(*, org: Organization, filters: dict | None = None) -> AttemptFilter:
    """The event log's FilterSet over the organisation's attempts, newest first, with what the
    log shows of each joined."""
    queryset = (
        SyncAttempt.objects.filter(org=org)
        .select_related(*ATTEMPT_RELATED)
        .order_by("-started_at", "-id")
    )
    return AttemptFilter(filters or {}, queryset=queryset, org=org)


def documents_matching_number(*, org: Organization, number: str, limit: int = 5) -> list[Document]:
    """Documents whose number matches the search, with how many attempts each has: a bill that
    never reached the ledger has no attempt at all, and the support agent must still find it."""
    number = (number or "").strip().lstrip("#")
    if not number:
        return []
    return list(
        Document.objects.for_org(org)
        .filter(number__icontains=number)
        .select_related("contact")
        .annotate(attempt_count=Count("sync_records__attempts"))
        .order_by("number", "id")[:limit]
    )
