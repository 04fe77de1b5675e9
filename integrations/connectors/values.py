"""What the connectors read alike from every ledger's answers: an amount to the cent, the day of
an ISO date, and our reference in the note or address an entry carries."""

import datetime
import re
from decimal import Decimal


def money(value) -> Decimal:
    """An amount as the ledger gives it (a number, its text, or nothing: 0), to the cent."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def iso_date(value) -> datetime.date | None:
    """The day of an ISO date or date-time; None for nothing or anything else."""
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def reference_of(text: str) -> str:
    """Our reference where an entry carries it: the `ref` of the document's address
    (EntryPayload.url) or of a bare `?ref=` note; "" when there is none."""
    match = re.search(r"[?&]ref=([^&#\s]+)", text or "")
    return match.group(1) if match else ""
