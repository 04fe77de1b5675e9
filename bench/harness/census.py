"""The counts that say whether anything was lost or doubled: what the emulator holds for an
organisation's tenant against what it should hold, by our reference (`census`), the calls the
ledger admitted by entry type (`calls_by_type`), and the engine's own records of the work
(pending, failed, attempts). Read in the bench process through the product's models."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bench.harness.organisations import OrgSetup
from bench.harness.printing import fmt

REF_IN_URL = re.compile(r"[?&]ref=([^&#]+)")


@dataclass
class Census:
    expected: int
    synced: int
    lost: int
    duplicated: int
    unexpected: int
    failed_records: int = 0
    records_without_attempt: int = 0
    attempts: int = 0
    records: int = 0

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0

    def line(self) -> str:
        return (
            f"expected={self.expected} synced={self.synced} lost={self.lost} "
            f"duplicated={self.duplicated} unexpected={self.unexpected} "
            f"failed_records={self.failed_records} attempts={self.attempts} "
            f"records={self.records} records_without_attempt={self.records_without_attempt}"
        )


def tenant_invoices(state: dict, tenant_id: str) -> list[dict]:
    for tenant in state["tenants"]:
        if tenant["tenantId"] == tenant_id:
            return tenant["invoices"]
    raise KeyError(tenant_id)


def census(state: dict, setup: OrgSetup) -> Census:
    """What the emulator holds for the organisation's tenant against what it should hold, by our
    reference; and whether every record has its attempts logged."""
    from synclog.models import RecordStatus, SyncAttempt, SyncRecord

    expected = setup.references
    held = Counter()
    for invoice in tenant_invoices(state, setup.tenant_id):
        if invoice.get("Status") in ("DELETED", "VOIDED"):
            continue
        match = REF_IN_URL.search(invoice.get("Url") or "")
        held[match.group(1) if match else ""] += 1
    records = SyncRecord.objects.filter(connection=setup.connection)
    attempts = SyncAttempt.objects.filter(record__connection=setup.connection).count()
    return Census(
        expected=len(expected),
        synced=sum(1 for ref in expected if held[ref]),
        lost=sum(1 for ref in expected if not held[ref]),
        duplicated=sum(held[ref] - 1 for ref in expected if held[ref] > 1),
        unexpected=sum(count for ref, count in held.items() if ref not in expected),
        failed_records=records.filter(status=RecordStatus.FAILED).count(),
        records_without_attempt=records.filter(attempts__isnull=True).count(),
        attempts=attempts,
        records=records.count(),
    )


def failed_by_429(setup: OrgSetup) -> int:
    """Records that ended Failed with a 429 as their last attempt's answer (retries are fine)."""
    from synclog.models import RecordStatus, SyncAttempt, SyncRecord

    failed = list(
        SyncRecord.objects.filter(
            connection=setup.connection, status=RecordStatus.FAILED
        ).values_list("pk", flat=True)
    )
    count = 0
    for record_id in failed:
        last = SyncAttempt.objects.filter(record_id=record_id).order_by("-finished_at").first()
        count += bool(last and last.http_status == 429)
    return count


def attempts_with_status(setup: OrgSetup, http_status: int) -> int:
    from synclog.models import SyncAttempt

    return SyncAttempt.objects.filter(
        record__connection=setup.connection, http_status=http_status
    ).count()


def pending_count(setups: Iterable[OrgSetup]) -> int:
    """Work left: Pending records, plus the documents of runs a worker has yet to prepare (a
    bulk re-sync of more than SYNC_PREPARE_IN_WORKER_OVER documents is answered before its
    records are marked Pending)."""
    from synclog.models import RecordStatus, SyncRecord, SyncRun

    connections = [s.connection for s in setups]
    # The runs first: a preparation that commits between two reads is then seen in one of them
    # (read the records first, and a run could be counted neither as selection nor as Pending).
    preparing = SyncRun.objects.filter(connection__in=connections, selection__isnull=False)
    selected = sum(len(selection) for selection in preparing.values_list("selection", flat=True))
    pending = SyncRecord.objects.filter(
        connection__in=connections, status=RecordStatus.PENDING
    ).count()
    return selected + pending


REQUEST_LOG_SIZE = 1000  # the emulators keep their last 1,000 calls
ENTRY_TYPE_OF_PATH = {
    "Invoices": "bill",
    "Payments": "payment",
    "BankTransactions": "spend",
    # QuickBooks Online (/v3/company/{realm}/...): a batch holds entries of one type.
    "bill": "bill",
    "billpayment": "payment",
    "purchase": "spend",
    # MYOB (/accountright/{company file}/...): one entry per call.
    "Purchase/Bill/Service": "bill",
    "Purchase/SupplierPayment": "payment",
    "Banking/SpendMoneyTxn": "spend",
}
QBO_PATH = re.compile(r"^/v3/company/[^/]+/([^/?]+)")
MYOB_PATH = re.compile(r"^/accountright/[^/]+/(.+?)(?:/[0-9a-fA-F-]{36})?(?:/Attachment)?$")


@dataclass
class CallsByType:
    """A tenant's admitted Accounting API calls since a moment, from the emulator's request log
    (`state()["requests"]`): {entry type: {method: calls}}."""

    calls: dict[str, Counter]
    complete: bool  # False: the log had already dropped calls of the run

    def total(self, entry_type: str) -> int:
        return sum(self.calls.get(entry_type, Counter()).values())

    def line(self, documents: dict[str, int]) -> str:
        """`calls_bill=2(PUT:2) calls_per_bill=0.020 ...`; `documents`: {entry type: count}."""
        parts = []
        for entry_type in sorted(set(self.calls) | set(documents)):
            methods = self.calls.get(entry_type, Counter())
            count = documents.get(entry_type, 0)
            per = fmt(self.total(entry_type) / count, 3) if count else "-"
            detail = ",".join(f"{m}:{n}" for m, n in sorted(methods.items())) or "none"
            parts.append(
                f"calls_{entry_type}={self.total(entry_type)}({detail}) "
                f"calls_per_{entry_type}={per}"
            )
        if not self.complete:
            parts.append("(request log overflowed: counts are of its last 1,000 calls)")
        return " ".join(parts)


def calls_by_type(state: dict, tenant_id: str, since: float) -> CallsByType:
    """Calls the ledger admitted (not 429, not injected timeouts) for the tenant at or after
    `since` (epoch seconds), by the entry type of their path and their method."""
    calls: dict[str, Counter] = {}
    for request in state["requests"]:
        if request["tenantId"] != tenant_id or request["at"] < since:
            continue
        if request["status"] in (None, 429):
            continue
        qbo = QBO_PATH.match(request["path"])
        myob = MYOB_PATH.match(request["path"])
        if qbo:
            resource = qbo.group(1)
        elif myob:
            resource = myob.group(1)
        else:
            resource = request["path"].split("/api.xro/2.0/", 1)[-1].split("/", 1)[0]
        entry_type = ENTRY_TYPE_OF_PATH.get(resource, resource.lower())
        calls.setdefault(entry_type, Counter())[request["method"]] += 1
    requests = state["requests"]
    # A full log whose oldest call is of the run may have dropped earlier ones.
    complete = len(requests) < REQUEST_LOG_SIZE or requests[0]["at"] < since
    return CallsByType(calls=calls, complete=complete)


def runs_finished(run_ids: list[int]) -> bool:
    from synclog.models import SyncRun

    return not SyncRun.objects.filter(pk__in=run_ids, finished_at__isnull=True).exists()


def last_attempt_at(setup: OrgSetup) -> datetime.datetime | None:
    from django.db.models import Max

    from synclog.models import SyncAttempt

    return SyncAttempt.objects.filter(record__connection=setup.connection).aggregate(
        last=Max("finished_at")
    )["last"]
