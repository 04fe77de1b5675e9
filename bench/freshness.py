"""Figure 6, freshness: the time from a committed change (approve, edit, payment) to the entry
being in the ledger, with a demo's background load and Xero's real quota.

    python -m bench.freshness --changes 200             # the issue's size (about 10 minutes)
    python -m bench.freshness --changes 6 --gap 0.2,0.5 --bulk-bills 50   # a smoke run

Workers run with the engine's production timings: every SYNC_* setting that the harness shortens
(FAST_SYNC) is set back to its default in syncsvc/settings.py (read from that file), so a change
waits the real coalescing delay, SYNC_COALESCE_SECONDS (2 s), before its task runs. No
`celery beat` runs (the sweep only re-sends tasks older than 60 s). The emulator and the
connection have Xero's limits: 60 calls a rolling 60 s per tenant, 5 at a time. Every call to the
emulator waits --latency-ms (a range: a thread draws a new value every 0.25 s).

The load, all on one organisation and its tenant (what a demo org does: its bills are synced
once in bulk when Xero is connected, people re-sync in bulk, and other users approve and edit):
- an ongoing bulk re-sync of --bulk-bills approved bills on the `bulk` queue: the first run
  creates them (batches of 50: a search and a create call each), and a new run starts as soon
  as the last one finished (those are unchanged by then: no calls, but worker time);
- other users' edits: every --background-every seconds a thread moves the due date of one of
  --background-bills approved, synced bills (an update call each).

Measured: --changes changes through documents.services, each in its own transaction, a mix in
equal parts of approving a submitted bill (a new entry: a search and a create call), editing the
due date or the amount of an approved synced bill (an update call), and recording a payment, in
part or in full, on one (a payment call). Each change is on a document no other change touches.
They are made open-loop: change i is due at start + the sum of i gaps drawn from --gap, however
long the earlier ones took. The commit time is taken by an on_commit callback registered before
the service's own (so it runs first, right after COMMIT, before the task is sent).

The emulator logs every write when applied (`GET /_emulator/writes`, the time in microseconds);
a change is in the ledger at its first write after the commit that shows it: the entry with our
reference (approve), the invoice with the new due date or total (edit), a payment of the amount
on the invoice (payment). Printed: p50 / p95 / max over all changes and per kind; a breakdown
from the sync attempt that applied the change (commit -> attempt start = coalescing delay +
waiting for a worker or for quota; attempt start -> applied = reading the document, quota,
the ledger calls); how many changes were sent back to wait (quota, bill first); calls per
minute against the quota. Last, the census of the emulator's entries and of payments.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import math
import random
import re
import sys
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.harness import (
    BILL_DUE,
    FAST_SYNC,
    REF_IN_URL,
    ROOT,
    Bench,
    add_common_arguments,
    attempts_with_status,
    bill_via_services,
    census,
    engine_limits,
    fmt,
    log,
    pending_count,
    runs_finished,
    setup_org,
    wait_until,
)

KINDS = ("approve", "edit", "payment")
GOAL_P95_SECONDS = 5.0
SETTING_DEFAULT = re.compile(
    r'(SYNC_[A-Z_]+) = (?:float|int)\(os\.environ\.get\("\1", "([^"]+)"\)\)'
)


def production_sync_settings() -> dict[str, str]:
    """The defaults of the engine settings that FAST_SYNC shortens, as syncsvc/settings.py has
    them (read from the file: the bench process's environment may carry FAST_SYNC's values)."""
    text = (ROOT / "syncsvc" / "settings.py").read_text()
    defaults = dict(SETTING_DEFAULT.findall(text))
    missing = set(FAST_SYNC) - set(defaults)
    if missing:
        raise SystemExit(f"no default found in syncsvc/settings.py for {sorted(missing)}")
    return {name: defaults[name] for name in FAST_SYNC}


def float_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    low_value = float(low)
    high_value = float(high) if high else low_value
    if not 0 <= low_value <= high_value:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH with 0 <= LOW <= HIGH: {text!r}")
    return low_value, high_value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=30, help="measured changes (issue: 200)")
    parser.add_argument(
        "--gap",
        type=float_range,
        default=(1.5, 3.5),
        help="seconds between measured changes, LOW,HIGH (uniform); the default keeps the "
        "whole load at about 2/3 of the quota",
    )
    parser.add_argument(
        "--latency-ms",
        type=float_range,
        default=(150, 300),
        help="the emulator's latency per call, LOW,HIGH milliseconds",
    )
    parser.add_argument("--bulk-bills", type=int, default=300, help="0: no bulk re-sync")
    parser.add_argument("--background-bills", type=int, default=30)
    parser.add_argument(
        "--background-every", type=float, default=10.0, help="seconds; 0: no background edits"
    )
    parser.add_argument("--calls-per-window", type=int, default=60)
    parser.add_argument("--window-seconds", type=float, default=60.0)
    parser.add_argument("--max-concurrent", type=int, default=5)
    parser.add_argument(
        "--coalesce",
        type=float,
        default=None,
        help="SYNC_COALESCE_SECONDS for the workers (default: the product's default)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=3, help="processes per worker")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait after the last change"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--csv", type=Path, default=None, help="write one row per change here")
    add_common_arguments(parser)
    return parser.parse_args(argv)


# --- changes -----------------------------------------------------------------------------------


@dataclass
class Change:
    index: int
    kind: str
    document_id: int
    detail: str = ""
    due_at: float = 0.0  # when the open-loop schedule wanted it made
    committed_at: float = 0.0
    reference: str = ""
    new_due_date: str | None = None
    new_total: Decimal | None = None
    payment_id: int | None = None
    amount: Decimal | None = None
    applied_at: float | None = None
    attempt_started_at: float | None = None
    record_id: int | None = None
    requeued: bool = False
    attempts: int = 0

    @property
    def seconds(self) -> float | None:
        return None if self.applied_at is None else self.applied_at - self.committed_at


def seconds_of(changes) -> list[float]:
    return [c.seconds for c in changes if c.seconds is not None]


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} p50={fmt(percentile(values, 0.5))}s p95={fmt(percentile(values, 0.95))}s "
        f"max={fmt(max(values))}s"
    )


def make_submitted_bills(org, *, user, count: int) -> list[int]:
    """Bills awaiting approval, through documents.services (create, submit)."""
    from documents.models import Category, Contact

    category = Category.objects.for_org(org).first()
    contact = Contact.objects.for_org(org).first()
    return [
        bill_via_services(
            org,
            contact=contact,
            category=category,
            actor=user,
            number=f"F{org.pk}-{index:05d}",
            amount=Decimal(200 + index % 700),
        ).pk
        for index in range(count)
    ]


def make_change(change: Change, *, user, rng: random.Random) -> None:
    """Run one change's service in a transaction of its own; note its commit time."""
    from django.db import transaction

    from documents import services as document_services
    from documents.models import Document
    from integrations.payloads import document_reference

    def committed() -> None:
        change.committed_at = time.time()

    document = Document.objects.select_related("category").get(pk=change.document_id)
    change.reference = document_reference(document)
    with transaction.atomic():
        # Registered before the service's own on_commit (the task's send): runs first.
        transaction.on_commit(committed)
        if change.kind == "approve":
            document_services.document_approve(document=document, actor=user)
        elif change.kind == "edit" and change.index % 2:
            new_due = document.due_date + datetime.timedelta(days=1 + change.index % 20)
            change.new_due_date, change.detail = new_due.isoformat(), "due date"
            document_services.document_update(
                document=document, actor=user, data={"due_date": new_due}
            )
        elif change.kind == "edit":
            new_total = document.total + Decimal(rng.randint(1, 99))
            change.new_total, change.detail = new_total, "amount"
            lines = [
                {
                    "description": "Services",
                    "quantity": Decimal(1),
                    "unit_amount": new_total,
                    "category": document.category,
                }
            ]
            document_services.document_update(
                document=document, actor=user, data={"total": new_total}, lines=lines
            )
        else:
            full = change.index % 2 == 0
            amount = document.total if full else (document.total / 2).quantize(Decimal("0.01"))
            change.amount, change.detail = amount, "full" if full else "part"
            payment = document_services.payment_record(
                document=document, actor=user, amount=amount, paid_at=BILL_DUE.isoformat()
            )
            change.payment_id = payment.pk


def applied_at(change: Change, writes: list[dict]) -> float | None:
    """The first write after the commit that shows the change in the ledger."""
    for write in writes:
        if write["at"] < change.committed_at:
            continue
        match = REF_IN_URL.search(write.get("Url") or "")
        if not match or match.group(1) != change.reference:
            continue
        if change.kind == "approve" and write["kind"] == "invoice":
            return write["at"]
        if change.kind == "edit" and write["kind"] == "invoice":
            if change.new_due_date is not None and write["DueDate"] == change.new_due_date:
                return write["at"]
            if change.new_total is not None and Decimal(write["Total"]) == change.new_total:
                return write["at"]
        if (
            change.kind == "payment"
            and write["kind"] == "payment"
            and write.get("PaymentStatus") == "AUTHORISED"
            and Decimal(write["Amount"]) == change.amount
        ):
            return write["at"]
    return None


def attempt_facts(change: Change, setup) -> None:
    """From the sync record of the change: the attempt that applied it, and whether its task
    was sent back to wait (quota, the bill first) after the first enqueue."""
    from documents.models import Document
    from synclog.models import AttemptOutcome, SyncAttempt, SyncRecord
    from synclog.rules import ENTRY_TYPE_FOR_KIND

    records = SyncRecord.objects.filter(connection=setup.connection, document_id=change.document_id)
    if change.kind == "payment":
        records = records.filter(payment_id=change.payment_id)
    else:
        kind = Document.objects.values_list("kind", flat=True).get(pk=change.document_id)
        records = records.filter(payment__isnull=True, entry_type=ENTRY_TYPE_FOR_KIND[kind])
    record = records.first()
    if record is None:
        return
    change.record_id = record.pk
    committed = datetime.datetime.fromtimestamp(change.committed_at, datetime.UTC)
    attempts = SyncAttempt.objects.filter(record=record, started_at__gte=committed).order_by(
        "started_at"
    )
    change.attempts = attempts.count()
    success = attempts.filter(outcome=AttemptOutcome.SUCCESS).first()
    if success is not None:
        change.attempt_started_at = success.started_at.timestamp()
    # sync_records_enqueue stamps enqueued_at at every send: a later stamp is a send-back.
    if record.enqueued_at is not None:
        change.requeued = record.enqueued_at.timestamp() > change.committed_at + 0.5


# --- background load ---------------------------------------------------------------------------


class Background:
    """Threads for the demo's load and the emulator's latency range; stop() joins them."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.bulk_runs = 0
        self.bulk_records = 0
        self.edits = 0

    def start(self, name: str, target) -> None:
        def run() -> None:
            from django.db import connection

            try:
                target()
            except Exception as error:  # noqa: BLE001 - reported at the end, the run goes on
                self.errors.append(f"{name}: {error!r}")
                log(f"background {name} stopped: {error!r}")
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True, name=name)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def bulk_loop(self, setup, document_ids: list[int]) -> None:
        """One bulk re-sync at a time, the next as soon as the last one finished."""
        from synclog import services

        while not self.stop_event.is_set():
            runs = services.bulk_resync(org=setup.org, document_ids=document_ids, actor=setup.user)
            self.bulk_runs += 1
            self.bulk_records += sum(run.total for run in runs)
            run_ids = [run.pk for run in runs]
            # Wait for it even when asked to stop: the census wants it finished.
            while not runs_finished(run_ids):
                time.sleep(0.5)

    def edit_loop(self, setup, document_ids: list[int], every: float) -> None:
        from documents import services as document_services
        from documents.models import Document

        index = 0
        while not self.stop_event.wait(every):
            document = Document.objects.get(pk=document_ids[index % len(document_ids)])
            document_services.document_update(
                document=document,
                actor=setup.user,
                data={"due_date": document.due_date + datetime.timedelta(days=1)},
            )
            self.edits += 1
            index += 1

    def latency_loop(self, emulator, low_ms: float, high_ms: float, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop_event.is_set():
            emulator.set_faults(latency_ms=round(rng.uniform(low_ms, high_ms)))
            self.stop_event.wait(0.25)


# --- the run -----------------------------------------------------------------------------------


def plan_changes(count: int, rng: random.Random) -> list[str]:
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    return kinds


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    sync_env = production_sync_settings()
    if args.coalesce is not None:
        sync_env["SYNC_COALESCE_SECONDS"] = str(args.coalesce)
    coalesce = float(sync_env["SYNC_COALESCE_SECONDS"])
    kinds = plan_changes(args.changes, rng)
    wanted = {kind: kinds.count(kind) for kind in KINDS}
    emulator_limits, connection_limits = engine_limits(
        args.calls_per_window, args.window_seconds, args.max_concurrent, 5000
    )
    low_ms, high_ms = args.latency_ms
    print(
        f"Engine settings (production defaults from syncsvc/settings.py): {sync_env}; quota "
        f"{args.calls_per_window} calls / {fmt(args.window_seconds, 0)} s, "
        f"{args.max_concurrent} concurrent; emulator latency {fmt(low_ms, 0)}-{fmt(high_ms, 0)} "
        f"ms; changes every {args.gap[0]}-{args.gap[1]} s; load: bulk re-sync of "
        f"{args.bulk_bills} bills in a loop, an edit every {args.background_every} s"
    )
    started_run = time.monotonic()
    with Bench("freshness", args, sync_env=sync_env) as bench:
        from synclog import services

        emulator = bench.start_emulator(**emulator_limits)
        # The workers start while the data is made (nothing is queued before the first sync).
        workers = [bench.new_worker(concurrency=args.concurrency) for _ in range(args.workers)]
        for worker in workers:
            worker.launch()
        edit_n, pay_n = wanted["edit"], wanted["payment"]
        background_n = args.background_bills if args.background_every > 0 else 0
        synced_first = edit_n + pay_n + background_n
        log(f"setting up {synced_first} + {args.bulk_bills} approved bills")
        setup = setup_org(
            emulator,
            name="Freshness demo",
            bills=synced_first + args.bulk_bills,
            connection_limits=connection_limits,
            via_services=0,
        )
        ids = setup.document_ids
        edit_ids, pay_ids = ids[:edit_n], ids[edit_n : edit_n + pay_n]
        background_ids = ids[edit_n + pay_n : synced_first]
        bulk_ids = ids[synced_first:]
        approve_ids = make_submitted_bills(setup.org, user=setup.user, count=wanted["approve"])
        setup.document_ids = ids + approve_ids
        for worker in workers:
            worker.wait_ready()
        log(f"{args.workers} worker(s) x {args.concurrency} processes ready")

        log(f"first sync of the {synced_first} bills that will be edited or paid")
        runs = services.bulk_resync(
            org=setup.org, document_ids=ids[:synced_first], actor=setup.user
        )
        wait_until(
            lambda: runs_finished([run.pk for run in runs]),
            timeout=300,
            interval=0.2,
            what="the first sync",
        )

        background = Background()
        pools = {"approve": iter(approve_ids), "edit": iter(edit_ids), "payment": iter(pay_ids)}
        changes = [
            Change(index=i, kind=kind, document_id=next(pools[kind]))
            for i, kind in enumerate(kinds)
        ]
        tenant_state = next(
            t for t in emulator.state()["tenants"] if t["tenantId"] == setup.tenant_id
        )
        calls_before, refused_before = tenant_state["calls"], tenant_state["refusedCalls"]
        attempts_429_before = attempts_with_status(setup, 429)
        try:
            background.start(
                "latency", lambda: background.latency_loop(emulator, *args.latency_ms, args.seed)
            )
            if bulk_ids:
                background.start("bulk", lambda: background.bulk_loop(setup, bulk_ids))
            if background_ids:
                background.start(
                    "edits",
                    lambda: background.edit_loop(setup, background_ids, args.background_every),
                )
            log(f"making {args.changes} changes ({wanted})")
            start = time.time()
            due = start
            for change in changes:
                due += rng.uniform(*args.gap) if change.index else 0.0
                change.due_at = due
                time.sleep(max(0.0, due - time.time()))
                make_change(change, user=setup.user, rng=rng)
            last_commit = max(change.committed_at for change in changes)
            making_seconds = last_commit - start
            log(f"changes made in {fmt(making_seconds, 1)} s; waiting for them in the ledger")

            def all_applied() -> bool:
                writes = emulator.control(
                    "GET", f"/writes?tenant_id={setup.tenant_id}&since={start}"
                )["writes"]
                for change in changes:
                    if change.applied_at is None:
                        change.applied_at = applied_at(change, writes)
                return all(change.applied_at is not None for change in changes)

            with contextlib.suppress(TimeoutError):
                wait_until(
                    all_applied,
                    timeout=args.timeout,
                    interval=1.0,
                    what="every change to be in the emulator",
                )
            applied_by = time.time()
        finally:
            background.stop()
        tenant_state = next(
            t for t in emulator.state()["tenants"] if t["tenantId"] == setup.tenant_id
        )
        measured_seconds = applied_by - start
        calls = tenant_state["calls"] - calls_before
        refused = tenant_state["refusedCalls"] - refused_before
        attempts_429 = attempts_with_status(setup, 429) - attempts_429_before
        log("waiting for every record to finish")
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: pending_count([setup]) == 0, timeout=300, interval=0.5, what="records"
            )
        for change in changes:
            attempt_facts(change, setup)

        ok = report(
            bench,
            args,
            changes,
            coalesce=coalesce,
            measured_seconds=measured_seconds,
            making_seconds=making_seconds,
            calls=calls,
            refused=refused,
            attempts_429=attempts_429,
            background=background,
        )
        state = emulator.state()
        counts = census(state, setup)
        payments_dup = duplicated_payments(state, setup, changes)
        bench.result(
            "6 census",
            f"{counts.line()} payments_duplicated={payments_dup} "
            f"pending_left={pending_count([setup])}",
        )
        if args.csv:
            write_csv(args.csv, changes)
        ok = ok and counts.ok and payments_dup == 0
    log(f"run time {fmt(time.monotonic() - started_run, 0)} s")
    return 0 if ok else 1


def report(
    bench,
    args,
    changes: list[Change],
    *,
    coalesce: float,
    measured_seconds: float,
    making_seconds: float,
    calls: int,
    refused: int,
    attempts_429: int,
    background: Background,
) -> bool:
    seconds = [c.seconds for c in changes if c.seconds is not None]
    lost = sum(1 for c in changes if c.seconds is None)
    p95 = percentile(seconds, 0.95)
    goal = "met" if seconds and not lost and p95 < GOAL_P95_SECONDS else "missed"
    per_minute = calls / measured_seconds * 60 if measured_seconds else 0.0
    quota_per_minute = args.calls_per_window / args.window_seconds * 60
    bench.result(
        "6 freshness",
        f"changes={len(changes)} applied={len(seconds)} not_applied={lost} {summary(seconds)} "
        f"goal_p95<{fmt(GOAL_P95_SECONDS, 0)}s={goal} coalesce={fmt(coalesce, 1)}s "
        f"latency_ms={fmt(args.latency_ms[0], 0)}-{fmt(args.latency_ms[1], 0)} "
        f"gap={args.gap[0]}-{args.gap[1]}s made_in={fmt(making_seconds, 0)}s "
        f"changes_per_min={fmt(len(changes) / making_seconds * 60 if making_seconds else 0, 1)}",
    )
    for kind in KINDS:
        of_kind = [c for c in changes if c.kind == kind]
        details = sorted({c.detail for c in of_kind if c.detail})
        split = " ".join(
            f"{detail}:[{summary(seconds_of(c for c in of_kind if c.detail == detail))}]"
            for detail in details
        )
        bench.result(
            f"6 freshness {kind}",
            f"{summary([c.seconds for c in of_kind if c.seconds is not None])}"
            + (f" {split}" if split else ""),
        )
    waits = [
        c.attempt_started_at - c.committed_at for c in changes if c.attempt_started_at is not None
    ]
    pushes = [
        c.applied_at - c.attempt_started_at
        for c in changes
        if c.attempt_started_at is not None and c.applied_at is not None
    ]
    late = [c.committed_at - c.due_at for c in changes]
    bench.result(
        "6 freshness breakdown",
        f"commit_to_attempt_start:[{summary(waits)}] (of which coalescing {fmt(coalesce, 1)}s) "
        f"attempt_start_to_applied:[{summary(pushes)}] "
        f"sent_back_to_wait={sum(c.requeued for c in changes)} "
        f"more_than_one_attempt={sum(c.attempts > 1 for c in changes)} "
        f"calls={calls} calls_per_min={fmt(per_minute, 1)} "
        f"quota_per_min={fmt(quota_per_minute, 0)} "
        f"refused_429={refused} attempts_with_429={attempts_429} "
        f"bulk_runs={background.bulk_runs} bulk_records={background.bulk_records} "
        f"background_edits={background.edits} background_errors={len(background.errors)} "
        f"commit_behind_schedule_max={fmt(max(late) if late else 0)}s",
    )
    for error in background.errors:
        print(f"background error: {error}", file=sys.stderr)
    return lost == 0


def duplicated_payments(state: dict, setup, changes: list[Change]) -> int:
    """Payments in the ledger beyond one per measured payment (each on its own bill)."""
    invoices = {}
    for tenant in state["tenants"]:
        if tenant["tenantId"] != setup.tenant_id:
            continue
        for invoice in tenant["invoices"]:
            match = REF_IN_URL.search(invoice.get("Url") or "")
            if match:
                invoices[invoice["InvoiceID"]] = match.group(1)
        payments = [p for p in tenant["payments"] if p.get("Status") != "DELETED"]
    paid_refs = {c.reference for c in changes if c.kind == "payment"}
    per_ref: dict[str, int] = {}
    for payment in payments:
        ref = invoices.get(payment["Invoice"]["InvoiceID"])
        if ref in paid_refs:
            per_ref[ref] = per_ref.get(ref, 0) + 1
    return sum(n - 1 for n in per_ref.values() if n > 1)


def write_csv(path: Path, changes: list[Change]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "index",
                "kind",
                "detail",
                "document_id",
                "record_id",
                "committed_at",
                "attempt_started_at",
                "applied_at",
                "seconds",
                "attempts",
                "sent_back",
            ]
        )
        for c in changes:
            writer.writerow(
                [
                    c.index,
                    c.kind,
                    c.detail,
                    c.document_id,
                    c.record_id,
                    fmt(c.committed_at, 3),
                    fmt(c.attempt_started_at, 3) if c.attempt_started_at else "",
                    fmt(c.applied_at, 3) if c.applied_at else "",
                    fmt(c.seconds, 3) if c.seconds is not None else "",
                    c.attempts,
                    int(c.requeued),
                ]
            )
    print(f"per-change rows in {path}")


if __name__ == "__main__":
    sys.exit(main())
