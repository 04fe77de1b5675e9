"""How a run's items end, and the run with its last one: counts, status code, webhook."""

import datetime
from collections import Counter

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from synclog.models import RunItemOutcome, StatusCode, SyncRun, SyncRunItem
from syncsvc.database import IdArray
from syncsvc.serialization import json_text
from webhooks.services import webhook_emit_run_finished


def _finish_run_items(
    outcomes: dict[int, tuple[str, int]], *, now: datetime.datetime | None = None
) -> None:
    """End the run items waiting for these records ({record id: (outcome, status code)}).

    Every run still waiting for a record ends its item: a record taken up by a newer run (a
    second bulk re-sync of the same documents) is pushed once, for both. A record now in the
    ledger also resolves the items it failed in earlier runs (`RESOLVED`): a run's counts,
    status code and Retry failed items follow its records as they are now.
    """
    if not outcomes:
        return
    now = now or timezone.now()
    rows = [
        {"record_id": pk, "outcome": outcome, "status_code": code}
        for pk, (outcome, code) in outcomes.items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _END_ITEMS_SQL,
            {
                "rows": json_text(rows),
                "ids": IdArray(outcomes),
                "in_ledger": list(_IN_LEDGER_OUTCOMES),
                "pending": RunItemOutcome.PENDING,
                "failed": RunItemOutcome.FAILED,
                "resolved": RunItemOutcome.RESOLVED,
                "now": now,
            },
        )
        ended = cursor.fetchall()
    per_run: dict[int, Counter] = {}
    for run_id, was, outcome in ended:
        counts = per_run.setdefault(run_id, Counter())
        if was == RunItemOutcome.FAILED:
            # It keeps the code it failed with there (its attempt says why).
            counts[RunItemOutcome.FAILED] -= 1
            counts[RunItemOutcome.RESOLVED] += 1
        else:
            counts[outcome] += 1
    for run_id in sorted(per_run):
        _add_to_run_and_end_if_last(run_id, per_run[run_id], now=now)


# The items waiting for these records, locked in id order (two batches never wait on each other
# crosswise), ended in the same statement: pending ones with their record's outcome, failed ones
# of a record now in the ledger resolved (keeping their code). One statement instead of a locking
# read and an UPDATE per outcome: a batch ends every few milliseconds of a bulk run.
_END_ITEMS_SQL = """
WITH ended AS (
    SELECT item.id, item.run_id, item.outcome AS was, rows.outcome, rows.status_code
    FROM synclog_syncrunitem AS item
    JOIN json_to_recordset(%(rows)s::json) AS rows(
        record_id bigint, outcome varchar(20), status_code integer
    ) ON rows.record_id = item.record_id
    WHERE item.record_id = ANY(%(ids)s)
      AND (
          item.outcome = %(pending)s
          OR (item.outcome = %(failed)s AND rows.outcome = ANY(%(in_ledger)s))
      )
    ORDER BY item.id
    FOR UPDATE OF item
), updated AS (
    UPDATE synclog_syncrunitem AS item
    SET outcome = CASE WHEN ended.was = %(failed)s THEN %(resolved)s ELSE ended.outcome END,
        status_code = CASE
            WHEN ended.was = %(failed)s THEN item.status_code ELSE ended.status_code
        END,
        finished_at = CASE WHEN ended.was = %(failed)s THEN item.finished_at ELSE %(now)s END
    FROM ended
    WHERE item.id = ended.id
)
SELECT run_id, was, outcome FROM ended ORDER BY id
"""


# Outcomes after which the record's entry is in the ledger (a reconcile by hand counts too).
_IN_LEDGER_OUTCOMES = frozenset(
    {
        RunItemOutcome.PUSHED,
        RunItemOutcome.NOTHING_TO_PUSH,
        RunItemOutcome.RESOLVED,
    }
)


def _add_to_run_and_end_if_last(
    run_id: int, finished_items: Counter, *, now: datetime.datetime
) -> None:
    """Add finished items to the run's counts; when none is left pending (and the run is fully
    prepared), end the run: its status code, finished_at and the sync.completed/failed webhook.
    With no items (an empty Counter) it only ends a run whose last item ended already.

    The counts' UPDATE locks the run row first, so the check for items still pending (a
    statement of its own: READ COMMITTED takes a new snapshot per statement) sees every batch of
    this run committed before ours. Most batches end here in two statements; the run row is
    read only when it ends or its code follows resolved failures.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE synclog_syncrun SET pushed = pushed + %s, nothing_to_push = nothing_to_push"
            " + %s, failed = failed + %s, resolved = resolved + %s WHERE id = %s"
            # A run still being prepared carries its selection: more items are coming.
            " RETURNING finished_at IS NOT NULL, selection IS NOT NULL",
            [
                finished_items[RunItemOutcome.PUSHED],
                finished_items[RunItemOutcome.NOTHING_TO_PUSH],
                finished_items[RunItemOutcome.FAILED],  # less, when some resolved
                finished_items[RunItemOutcome.RESOLVED],
                run_id,
            ],
        )
        row = cursor.fetchone()
        if row is None:
            return
        ended_before, still_preparing = row
        finished = False
        if not ended_before and not still_preparing:
            cursor.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM synclog_syncrunitem"
                " WHERE run_id = %s AND outcome = %s)",
                [run_id, RunItemOutcome.PENDING],
            )
            finished = cursor.fetchone()[0]
    if not finished and not (ended_before and finished_items[RunItemOutcome.RESOLVED]):
        return
    run = SyncRun.objects.defer("selection").get(pk=run_id)
    if finished:
        run.finished_at = now
        run.status_code = _run_status_code(run)
        run.save(update_fields=["finished_at", "status_code"])
        # In this transaction: the webhook goes out on commit, once the run's end is saved.
        webhook_emit_run_finished(run=run)
    else:
        # A finished run whose failures were fixed since: its code follows (no new webhook).
        run.status_code = _run_status_code(run)
        run.save(update_fields=["status_code"])


def _run_status_code(run: SyncRun) -> int:
    if run.failed:
        # The commonest failure code names the run's failure (a run fails if any item fails).
        return (
            SyncRunItem.objects.filter(run_id=run.pk, outcome=RunItemOutcome.FAILED)
            .values_list("status_code")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("status_code", flat=True)
            .first()
        ) or StatusCode.DATA_PUSH
    # Items fixed since are in the ledger now: the run's data reached it.
    pushed = run.pushed or run.resolved
    return StatusCode.SUCCESS if pushed else StatusCode.NOTHING_TO_PUSH
