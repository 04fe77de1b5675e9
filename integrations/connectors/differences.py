"""How an entry the ledger holds differs from the document as it is now, field by field: what a
push compares before it changes an entry, what a drift check reports and what a re-sync preview
shows."""

from dataclasses import dataclass
from decimal import Decimal

from integrations.connectors.types import EntryKind, EntryPayload, EntryState, LinePayload


@dataclass(frozen=True)
class FieldDifference:
    """One field of an entry that the ledger holds otherwise than the document says: its name
    ("due date", "line 2", "line 2 tracking"), the ledger's value and ours."""

    field: str
    there: object
    here: object


def entry_field_differences(payload: EntryPayload, state: EntryState) -> list[FieldDifference]:
    """How the entry the ledger holds differs from the document as it is now, field by field
    (each line and its tracking apart); empty when the ledger already holds it. What a push
    compares, and what a re-sync preview shows."""
    differences = []

    def compare(label: str, there, here) -> None:
        if there != here:
            differences.append(FieldDifference(label, there, here))

    compare("number", state.number, payload.number)
    if payload.contact_id:
        compare("contact", state.contact_id, payload.contact_id)
    if state.issue_date is not None:
        compare("issue date", state.issue_date, payload.issue_date)
    if payload.kind != EntryKind.SPEND:  # spend money has no due date
        compare("due date", state.due_date, payload.due_date)
    if state.currency:
        compare("currency", state.currency, payload.currency)
    compare("total", _cents(state.total), _cents(payload.total))
    if state.lines is not None:
        for position in range(max(len(state.lines), len(payload.lines))):
            there = state.lines[position] if position < len(state.lines) else None
            here = payload.lines[position] if position < len(payload.lines) else None
            label = f"line {position + 1}"
            compare(label, _line_words(there), _line_words(here))
            compare(f"{label} tracking", _tracking_words(there), _tracking_words(here))
    if state.gone != payload.voided or (not payload.voided and state.approved is False):
        compare("status", state.status, "voided" if payload.voided else "approved")
    return differences


def entry_differences(payload: EntryPayload, state: EntryState) -> list[str]:
    """entry_field_differences in words ("due date 2026-12-24 there, 2026-11-30 here"; lines
    as their counts), for the messages of a refused or repaired push."""
    words = []
    for difference in entry_field_differences(payload, state):
        if difference.field.startswith("line"):
            counted = f"lines ({len(state.lines)} there, {len(payload.lines)} here)"
            if counted not in words:
                words.append(counted)
        else:
            words.append(
                f"{difference.field} {difference.there or 'none'} there, "
                f"{difference.here or 'none'} here"
            )
    return words


def _cents(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _line_words(line: LinePayload | None) -> str | None:
    # A line's amount, not its quantity and unit price apart: QuickBooks' account-based lines
    # keep the amount alone, so 4 × 20.00 reads back as 1 × 80.00 and is the same line.
    if line is None:
        return None
    amount = _cents(Decimal(line.quantity) * Decimal(line.unit_amount))
    return f"{line.description} · {amount} · account {line.account_code}"


def _tracking_words(line: LinePayload | None) -> str:
    if line is None:
        return ""
    refs = sorted((ref.category_name, ref.option_name) for ref in line.tracking)
    return ", ".join(f"{category}: {option}" for category, option in refs)
