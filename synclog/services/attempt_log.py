"""The attempt log: the calls a push made, the SyncAttempt rows written from them, and the
saving of a ledger's answer through a database outage."""

import dataclasses
import datetime
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from integrations.connectors.types import CallRecord
from synclog.models import Operation, SyncAttempt, SyncRecord
from synclog.services.rows import insert_rows, insert_values
from syncsvc.outages import save_through_outage


@dataclass
class _AttemptLog:
    started_at: datetime.datetime
    monotonic: float
    calls: list[CallRecord] = field(default_factory=list)
    operation: str = Operation.UNDECIDED

    def record(self, call: CallRecord) -> None:
        self.calls.append(call)


def _save_answer(log: _AttemptLog, write, *, attempt_of: int | None = None):
    """`write()` once the ledger has answered: a database outage must not lose that answer (the
    records stay claimed by us meanwhile). When the write logs an attempt of `log` for the record
    `attempt_of`, a COMMIT whose answer was lost is found, not written twice (ALREADY_SAVED)."""
    return save_through_outage(
        write,
        what=lambda: (
            "the ledger's answer to "
            + ", ".join(f"{call.method} {call.url} ({call.http_status})" for call in log.calls)
        ),
        saved=None if attempt_of is None else lambda: _attempt_saved(log, attempt_of),
    )


def _attempt_saved(log: _AttemptLog, record_id: int) -> bool:
    return SyncAttempt.objects.filter(record_id=record_id, started_at=log.started_at).exists()


_ATTEMPT_RECORD = SyncAttempt._meta.get_field("record")


def _write_attempt(
    record: SyncRecord, log: _AttemptLog, outcome: str, code: int, *, error=None
) -> SyncAttempt:
    attempt = SyncAttempt(**_attempt_values(record, log, outcome, code, error=error))
    _ATTEMPT_RECORD.set_cached_value(attempt, record)  # attempt.record reads no row
    attempt.save()
    return attempt


def _insert_attempts(attempts: list[SyncAttempt]) -> None:
    """Insert a batch's attempts in one statement (see rows.insert_rows: bulk_create's
    per-value compilation and quoting were ~0.3 ms CPU per attempt)."""
    insert_rows(attempts)


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain_data(value):
    """dataclasses.asdict without its deep copy of every value (most of its cost: ~0.4 ms per
    payload): dataclasses as dicts, tuples and lists as lists, the values themselves, for JSON
    (the same JSON asdict's result gives, so payload hashes do not change). Scalars are told
    apart first: they are most of the values, and is_dataclass() for each was a fifth of it."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if cls is tuple or cls is list:
        return [plain_data(item) for item in value]
    if cls is dict:
        return {key: plain_data(item) for key, item in value.items()}
    try:
        names = _FIELD_NAMES[cls]
    except KeyError:
        names = _FIELD_NAMES[cls] = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
    if names is None:
        return value
    return {name: plain_data(getattr(value, name)) for name in names}


def _error_detail(error) -> dict:
    """What a program needs of the error: the mapping to add, for a missing one."""
    missing = getattr(error, "missing_mapping", None)
    return {"missing_mapping": missing} if missing else {}


def _attempt_values(
    record: SyncRecord,
    log: _AttemptLog,
    outcome: str,
    code: int,
    *,
    error=None,
    operation: str | None = None,
    calls: list[CallRecord] | None = None,
    finished: datetime.datetime | None = None,
) -> dict:
    """The attempt's log line as its fields' values (a batch inserts its attempts together:
    _insert_attempt_values)."""
    calls = log.calls if calls is None else calls
    last_status = next((c.http_status for c in reversed(calls) if c.http_status), None)
    return {
        "org_id": record.org_id,
        "record_id": record.pk,
        "run_id": record.run_id,
        "trigger": record.pending_trigger,
        "actor_id": record.pending_actor_id,
        "actor_label": record.pending_actor_label,
        "reason": record.pending_reason,
        "operation": operation or log.operation,
        "outcome": outcome,
        "status_code": code,
        "error_message": (error.message if error else "")[:4000],
        "explanation": error.explanation if error else "",
        "hint": error.hint if error else "",
        "error_detail": _error_detail(error),
        "http_status": error.http_status if error and error.http_status else last_status,
        "calls": [plain_data(call) for call in calls[: settings.SYNC_LOGGED_CALLS]],
        "duration_ms": int((time.monotonic() - log.monotonic) * 1000),
        "started_at": log.started_at,
        "finished_at": finished or timezone.now(),
    }


def _insert_attempt_values(attempts: list[dict]) -> None:
    """Insert a batch's attempts (_attempt_values) in one statement (rows.insert_values)."""
    insert_values(SyncAttempt, attempts)
