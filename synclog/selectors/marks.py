"""Records marked Complete by hand (Update Sync Status, or accepting the ledger's version) since
ledgersync last pushed them: Complete on a person's word, not because a push of ours was seen to
land, so no page says they reached the ledger at a date."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from synclog.models import RecordStatus, SyncRecord, SyncStatusChange


@dataclass(frozen=True)
class HandMark:
    """A record's latest mark Complete by hand: who (their username, or the API key's label;
    empty once the user is removed), when, and their note."""

    by: str
    at: datetime.datetime
    note: str


def last_marks_complete(*, record_ids: Iterable[int]) -> dict[int, HandMark]:
    """Each record's latest mark Complete by hand, whenever it was: one query."""
    rows = (
        SyncStatusChange.objects.filter(
            record_id__in=list(record_ids), to_status=RecordStatus.COMPLETE
        )
        .order_by("record_id", "-changed_at", "-id")
        .distinct("record_id")
        .values_list("record_id", "actor__username", "actor_label", "changed_at", "note")
    )
    # The user, else the API key that marked it (as Sync History's "Set by" says).
    return {
        pk: HandMark(by=user or key or "", at=at, note=note) for pk, user, key, at, note in rows
    }


def marked_since_push(*, pushed_at: datetime.datetime | None, marked_at) -> bool:
    """Whether a mark by hand came after ledgersync last pushed the record (or it never did)."""
    return marked_at is not None and (pushed_at is None or marked_at > pushed_at)


def records_marked_complete_by_hand(*, records: Iterable[SyncRecord]) -> dict[int, HandMark]:
    """Of these records, those marked Complete by hand since ledgersync last pushed them, with
    the mark (whatever their status now): one query."""
    by_id = {record.pk: record for record in records}
    if not by_id:
        return {}
    return {
        pk: mark
        for pk, mark in last_marks_complete(record_ids=by_id).items()
        if marked_since_push(pushed_at=by_id[pk].synced_at, marked_at=mark.at)
    }
