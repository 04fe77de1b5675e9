"""The reconcile's read of QuickBooks Online: what changed in the company since a time (change
data capture, the bills a changed payment paid read with it).
"""

import datetime
import json
from decimal import Decimal

from integrations.connectors.qbo.lookups import QboLookups
from integrations.connectors.qbo.payloads import ENTITY
from integrations.connectors.qbo.reads import payment_state, voided_in_quickbooks
from integrations.connectors.types import (
    CallRecord,
    ChangedEntry,
    EntryKind,
    LedgerChanges,
    PaymentState,
)

# Intuit: "CDC operations can track changes within the last 30 days" (specs/qbo/NOTES.md); a
# little less, so that a read on the edge is not refused.
CDC_LOOKBACK = datetime.timedelta(days=29, hours=23)


class QboChanges(QboLookups):
    """`changes_since` on the connector's reads."""

    reads_changes = True

    def changes_since(
        self, *, since: datetime.datetime, kinds: frozenset, payments: bool
    ) -> LedgerChanges:
        # Change data capture: one GET for every entity, each changed one in full and each
        # deleted one as {"Id", "status": "Deleted"}; QuickBooks looks back 30 days at most.
        entities = {ENTITY[kind]: kind for kind in sorted(kinds) if kind in ENTITY}
        if not entities:
            return LedgerChanges()
        # A bill paid in QuickBooks: its BillPayment is what certainly changes (whether the
        # Bill's own LastUpdatedTime moves with it is not documented), so the bills its lines
        # link to are read too; a deleted or voided BillPayment of ours is one of the payments.
        bill_payments = EntryKind.BILL in kinds
        oldest = datetime.datetime.now(datetime.UTC) - CDC_LOOKBACK
        changed_since = max(since, oldest).astimezone(datetime.UTC)
        response = self._send(
            "GET",
            "cdc",
            params={
                "entities": ",".join([*entities, *(["BillPayment"] if bill_payments else [])]),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        body = response.json()

        def call_of(entity: str, row: dict, answer=response) -> CallRecord:
            return CallRecord(
                method=answer.request.method,
                url=str(answer.request.url),
                http_status=answer.status_code,
                duration_ms=int(answer.elapsed.total_seconds() * 1000),
                response_body=self.redact(json.dumps({entity: [row]})),
            )

        found, found_payments, paid_bills = [], [], set()
        for cdc in body.get("CDCResponse", []):
            for answer in cdc.get("QueryResponse", []):
                for entity, kind in entities.items():
                    for row in answer.get(entity, []):
                        # Booked by its payment or deletion; a closed period is the push's to
                        # find (one read fewer here).
                        state = self._state(entity, row, check_close=False)
                        found.append(ChangedEntry(kind, state, call_of(entity, row)))
                for row in answer.get("BillPayment", []):
                    if str(row.get("status", "")).lower() == "deleted":
                        state = PaymentState(
                            external_id=row["Id"],
                            entry_id="",
                            amount=Decimal("0"),
                            status="DELETED",
                        )
                        found_payments.append(
                            ChangedEntry(None, state, call_of("BillPayment", row))
                        )
                    elif voided_in_quickbooks(row):
                        # Voided, not deleted: it stays readable, zeroed, its lines cleared,
                        # and pays no bill any more.
                        state = payment_state(row, entry_id="")
                        found_payments.append(
                            ChangedEntry(None, state, call_of("BillPayment", row))
                        )
                    paid_bills |= {
                        linked["TxnId"]
                        for line in row.get("Line", [])
                        for linked in line.get("LinkedTxn", [])
                        if linked.get("TxnType") == "Bill"
                    }
        paid_bills -= {change.state.external_id for change in found}
        for row in self._rows_by_id("Bill", paid_bills) if paid_bills else ():
            state = self._state("Bill", row, check_close=False)
            query = CallRecord(  # read by a query (its own call is in the log too)
                method="POST",
                url=f"{self.endpoints.api}/{self.realm_id}/query",
                http_status=200,
                duration_ms=0,
                response_body=self.redact(json.dumps({"Bill": [row]})),
            )
            found.append(ChangedEntry(EntryKind.BILL, state, query))
        ledger_time = body.get("time")
        return LedgerChanges(
            entries=tuple(found),
            payments=tuple(found_payments),
            ledger_time=datetime.datetime.fromisoformat(ledger_time) if ledger_time else None,
        )
