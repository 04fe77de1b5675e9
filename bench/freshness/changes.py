"""The measured changes of figure 6: each made through documents.services in a transaction of its
own (its commit time taken by an on_commit callback that runs first), found again in the
emulator's write log (`applied_at`), explained by the sync attempt that applied it
(`attempt_facts`); their percentiles, the payments the ledger holds twice, one CSV row each."""

from __future__ import annotations

import csv
import datetime
import math
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.harness import BILL_DUE, REF_IN_URL, bill_via_services, fmt


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
