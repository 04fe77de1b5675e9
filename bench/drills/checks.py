"""What every drill checks and waits for: the census of the ledger against the records, every
ledger call in an attempt's log, the records still Pending."""

from __future__ import annotations

import contextlib
import time

from bench.harness import Bench, census, pending_count, wait_until


def report(
    bench: Bench, emulator, setup, label: str, details: str, *, calls_logged: bool = True
) -> bool:
    from synclog.models import RecordStatus, SyncRecord

    state = emulator.state()
    counts = census(state, setup)
    failed = SyncRecord.objects.filter(connection=setup.connection, status=RecordStatus.FAILED)
    if failed and bench.args.keep_logs:
        # What the ledger saw last, for whoever investigates the failure.
        for request in state["requests"][-40:]:
            print(
                f"    ledger: {request['method']} {request['path']} {request['status']} "
                f"timedOut={request['timedOut']} dropped={request['responseDropped']} "
                f"key={request['idempotencyKey']} at={request['at']:.1f}"
            )
    for record in failed[:5]:
        print(
            f"  failed record {record.pk} (document {record.document_id}): "
            f"{record.last_error_code} {record.last_error_message[:300]!r}; attempts "
            "(trigger, operation, outcome, http status, seconds after the first): "
        )
        attempts = list(record.attempts.order_by("started_at"))
        for attempt in attempts:
            offset = (attempt.started_at - attempts[0].started_at).total_seconds()
            print(
                f"    {attempt.trigger} {attempt.operation} {attempt.outcome} "
                f"{attempt.http_status} +{offset:.1f}s {attempt.error_message[:80]!r}"
            )
    logged = (
        counts.records_without_attempt == 0 and counts.attempts >= counts.records and calls_logged
    )
    bench.result(
        f"8{label}",
        f"{counts.line()} every_attempt_logged={'yes' if logged else 'NO'} {details}",
    )
    return counts.ok and logged


def record_states(setup) -> str:
    """Where the records are, for a drill that does not finish in time."""
    from django.db.models import Count, Max, Min
    from django.utils import timezone

    from synclog.models import SyncRecord

    records = SyncRecord.objects.filter(connection=setup.connection)
    rows = records.values("status").annotate(
        n=Count("id"),
        claimed=Count("id", filter=~models_q(claimed_by="")),
        oldest_enqueued=Min("enqueued_at"),
        latest_retry=Max("next_retry_at"),
    )
    now = timezone.now()
    return "; ".join(
        f"status {row['status']}: {row['n']} (claimed {row['claimed']}, oldest enqueued "
        f"{(now - row['oldest_enqueued']).total_seconds() if row['oldest_enqueued'] else '-'}"
        f" s ago, latest retry at {row['latest_retry']})"
        for row in rows
    )


def models_q(**kwargs):
    from django.db.models import Q

    return Q(**kwargs)


def pending_now(setup) -> int | None:
    """Pending records, or None while the database does not answer. A broken connection is
    closed, so that the next query connects again (a restarted server ended it)."""
    from django.db import InterfaceError, OperationalError, connection

    try:
        return pending_count([setup])
    except (OperationalError, InterfaceError):
        connection.close()
        return None


def finish(setup, args, what: str) -> float:
    started = time.monotonic()

    def states() -> str:
        try:
            return record_states(setup)
        except Exception as error:  # noqa: BLE001 - only describes a timeout
            return f"unknown ({error})"

    wait_until(
        lambda: pending_now(setup) == 0,
        timeout=args.timeout,
        interval=0.5,
        what=lambda: f"{what}; records: {states()}",
    )
    return time.monotonic() - started


def ledger_calls(emulator, setup) -> int:
    """API calls the emulator accepted for the organisation's tenant, ever (not a bounded log)."""
    return emulator.state()["calls"][setup.tenant_id]


def calls_logged(setup) -> tuple[int, int]:
    """(ledger calls found in the attempts' logs, records linked to an entry that no logged
    attempt of theirs wrote). One batch's records share its calls (and its start time), so a
    call is counted once per (attempt start, position). A record whose entry was made by a
    write whose answer was lost has an attempt logged Unknown before the one that links it."""
    from synclog.models import AttemptOutcome, Operation, SyncAttempt

    calls = set()
    writes_logged: set[int] = set()
    linked: set[int] = set()
    attempts = SyncAttempt.objects.filter(record__connection=setup.connection).order_by(
        "started_at"
    )
    for record_id, started_at, operation, outcome, logged in attempts.values_list(
        "record_id", "started_at", "operation", "outcome", "calls"
    ):
        calls.update((started_at, index) for index in range(len(logged or [])))
        if operation == Operation.LINK and outcome == AttemptOutcome.SUCCESS:
            if record_id not in writes_logged:
                linked.add(record_id)
        elif outcome == AttemptOutcome.UNKNOWN or operation == Operation.CREATE:
            writes_logged.add(record_id)
    return len(calls), len(linked)


# A worker whose ledger answer arrived while PostgreSQL was down saves it once the server is
# back (syncsvc.outages: retries at most 5 s apart). Its lease may run out meanwhile, and another
# worker then finds the entry and links the records, so that the run is over before the first
# worker's attempt is in the log: the count waits for it, for at most this long.
ANSWERS_SAVED_WITHIN_SECONDS = 30.0


def call_log_check(emulator, setup, calls_before: int) -> tuple[str, bool]:
    """Every ledger call since `calls_before` is in an attempt's log: (details, all logged)."""
    calls = ledger_calls(emulator, setup) - calls_before
    with contextlib.suppress(TimeoutError):  # then the figures below say what is missing
        wait_until(
            lambda: (counted := calls_logged(setup))[0] >= calls and counted[1] == 0,
            timeout=ANSWERS_SAVED_WITHIN_SECONDS,
            interval=0.2,
        )
    logged, linked_unlogged = calls_logged(setup)
    details = (
        f"ledger_calls={calls} calls_logged={logged} unlogged_calls={calls - logged} "
        f"records_linked_to_an_unlogged_write={linked_unlogged}"
    )
    return details, logged >= calls and linked_unlogged == 0
