"""How a run's items end, and the run with its last one: counts, status code, webhook."""

import datetime
from collections import Counter

from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from synclog.models import RunItemOutcome, StatusCode, SyncRun, SyncRunItem
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
    in_ledger = [pk for pk, (outcome, _) in outcomes.items() if outcome in _IN_LEDGER_OUTCOMES]
    items = list(
        SyncRunItem.objects.select_for_update()
        .filter(record_id__in=list(outcomes))
        .filter(
            Q(outcome=RunItemOutcome.PENDING)
            | Q(outcome=RunItemOutcome.FAILED, record_id__in=in_ledger)
        )
        .order_by("pk")
        .values_list("pk", "run_id", "record_id", "outcome")
    )
    by_outcome: dict[tuple[str, int], list[int]] = {}
    resolved: list[int] = []
    per_run: dict[int, Counter] = {}
    for pk, run_id, record_id, was in items:
        counts = per_run.setdefault(run_id, Counter())
        if was == RunItemOutcome.FAILED:
            # It keeps the code it failed with there (its attempt says why).
            resolved.append(pk)
            counts[RunItemOutcome.FAILED] -= 1
            counts[RunItemOutcome.RESOLVED] += 1
            continue
        by_outcome.setdefault(outcomes[record_id], []).append(pk)
        counts[outcomes[record_id][0]] += 1
    for (outcome, code), pks in by_outcome.items():
        SyncRunItem.objects.filter(pk__in=pks).update(
            outcome=outcome, status_code=code, finished_at=now
        )
    if resolved:
        SyncRunItem.objects.filter(pk__in=resolved).update(outcome=RunItemOutcome.RESOLVED)
    for run_id in sorted(per_run):
        _add_to_run_and_end_if_last(run_id, per_run[run_id], now=now)


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

    The run row is locked first, so the check for items still pending sees every batch of this
    run committed before ours (READ COMMITTED takes a new snapshot per statement).
    """
    run = (
        SyncRun.objects.select_for_update()
        # A run still being prepared carries its selection (thousands of ids): not read here.
        .defer("selection")
        .annotate(still_preparing=ExpressionWrapper(Q(selection__isnull=False), BooleanField()))
        .get(pk=run_id)
    )
    run.pushed += finished_items[RunItemOutcome.PUSHED]
    run.nothing_to_push += finished_items[RunItemOutcome.NOTHING_TO_PUSH]
    run.failed += finished_items[RunItemOutcome.FAILED]  # less, when some resolved
    run.resolved += finished_items[RunItemOutcome.RESOLVED]
    fields = ["pushed", "nothing_to_push", "failed", "resolved"]
    finished = (
        run.finished_at is None
        and not run.still_preparing  # more items are coming
        and not SyncRunItem.objects.filter(run_id=run_id, outcome=RunItemOutcome.PENDING).exists()
    )
    if finished:
        run.finished_at = now
        run.status_code = _run_status_code(run)
        fields += ["finished_at", "status_code"]
    elif run.finished_at is not None and finished_items[RunItemOutcome.RESOLVED]:
        # A finished run whose failures were fixed since: its code follows (no new webhook).
        run.status_code = _run_status_code(run)
        fields.append("status_code")
    run.save(update_fields=fields)
    if finished:
        # In this transaction: the webhook goes out on commit, once the run's end is saved.
        webhook_emit_run_finished(run=run)


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
