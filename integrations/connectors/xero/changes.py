"""The reconcile's read of Xero: the invoices, spend money and payments changed since a time
(If-Modified-Since), deleted and voided ones included.
"""

import datetime
import json

from integrations.connectors.types import CallRecord, ChangedEntry, EntryKind, LedgerChanges
from integrations.connectors.xero.lookups import XERO_PAGE_SIZE, XeroLookups
from integrations.connectors.xero.payloads import INVOICE_TYPE
from integrations.connectors.xero.reads import (
    entry_state,
    parse_http_date,
    payment_state,
    spend_state,
)

KIND_OF_INVOICE_TYPE = {value: kind for kind, value in INVOICE_TYPE.items()}


def _changed_kind(collection: str, element: dict) -> EntryKind | None:
    if collection == "Invoices":
        return KIND_OF_INVOICE_TYPE.get(element.get("Type", ""))
    if collection == "BankTransactions":
        return EntryKind.SPEND if element.get("Type") == "SPEND" else None
    return None


class XeroChanges(XeroLookups):
    """`changes_since` on the connector's reads."""

    reads_changes = True

    def changes_since(
        self, *, since: datetime.datetime, kinds: frozenset, payments: bool
    ) -> LedgerChanges:
        # If-Modified-Since on each list Xero offers it on (Invoices, BankTransactions,
        # Payments): deleted and voided elements are in the answer with their Status. `page`
        # makes Xero answer invoices with their line items.
        header = {"If-Modified-Since": since.astimezone(datetime.UTC).isoformat(timespec="seconds")}
        reads = []
        if kinds & set(INVOICE_TYPE):
            reads.append(("Invoices", entry_state))
        if EntryKind.SPEND in kinds:
            reads.append(("BankTransactions", spend_state))
        if payments:
            reads.append(("Payments", lambda p: payment_state(p, entry_id="")))
        found: dict[str, list[ChangedEntry]] = {
            "Invoices": [],
            "BankTransactions": [],
            "Payments": [],
        }
        ledger_time = None
        for collection, read in reads:
            page = 1
            while True:
                response = self._send(
                    "GET",
                    f"{self.endpoints.api}/{collection}",
                    params={"page": page},
                    headers=header,
                )
                ledger_time = ledger_time or parse_http_date(response.headers.get("Date"))
                elements = response.json().get(collection, [])
                for element in elements:
                    state = read(element)
                    kind = _changed_kind(collection, element)
                    if collection != "Payments" and kind not in kinds:
                        continue
                    found[collection].append(
                        ChangedEntry(
                            kind=kind,
                            state=state,
                            call=CallRecord(
                                method="GET",
                                url=str(response.request.url),
                                http_status=response.status_code,
                                duration_ms=int(response.elapsed.total_seconds() * 1000),
                                response_body=self.redact(json.dumps({collection: [element]})),
                            ),
                        )
                    )
                if len(elements) < XERO_PAGE_SIZE:
                    break
                page += 1
        return LedgerChanges(
            entries=(*found["Invoices"], *found["BankTransactions"]),
            payments=tuple(found["Payments"]),
            ledger_time=ledger_time,
        )
