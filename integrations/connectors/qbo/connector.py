"""The QuickBooks Online connector: reads and writes of entries (one at a time or in batches of
30), payments and attachments, and the lists the mappings page shows, on Intuit's HTTP client
(client.py)."""

import datetime
import json
from decimal import Decimal

from integrations.connectors.client import BODY_LOG_LIMIT
from integrations.connectors.errors import (
    ConfigurationError,
    ConnectorError,
    NotFoundError,
    TransientError,
)
from integrations.connectors.qbo.catalogue import classified, fault_errors
from integrations.connectors.qbo.client import NUMBERS_PER_QUERY, QboClient, quoted
from integrations.connectors.qbo.payloads import (
    BANK_PURCHASE,
    ENTITY,
    PAYMENT_ENTITY,
    PURCHASE_PAYMENT_TYPES,
    entry_body,
    request_id,
    wire_number,
)
from integrations.connectors.qbo.reads import (
    QBO_ACCOUNT_KINDS,
    entry_state,
    money,
    payment_state,
    reference_of,
)
from integrations.connectors.types import (
    AccountKind,
    AttachmentState,
    BatchItemResult,
    CallRecord,
    Capabilities,
    ChangedEntry,
    ConnectionCheck,
    EntryKind,
    EntryPayload,
    EntryState,
    LedgerAccount,
    LedgerChanges,
    LedgerContact,
    LedgerLockDate,
    LedgerTaxRate,
    LedgerTenant,
    LedgerTrackingOption,
    PaymentPayload,
    PaymentState,
)

BATCH_SIZE = 30  # Intuit's limits page: at most 30 operations per batch
STALE_OBJECT = "5010"


# Intuit: "CDC operations can track changes within the last 30 days" (specs/qbo/NOTES.md); a
# little less, so that a read on the edge is not refused.
CDC_LOOKBACK = datetime.timedelta(days=29, hours=23)


class QboConnector(QboClient):
    provider = "quickbooks"
    display_name = "QuickBooks Online"
    # Intuit's throttles per realm and app: 500 requests a minute, 10 a second, and 40 batch
    # requests a minute of at most 30 operations each. A batch weighs 500/40 rounded up (13)
    # calls, so a run of batches stays under 40 a minute; a second's burst of more than 10 is
    # answered 429 and waited out like any throttle. No daily cap is published: the minute's
    # bounds the day. An update reads the SyncToken first; a bill with a payment reads booked.
    capabilities = Capabilities(
        per_minute=500,
        per_second=10,
        per_day=500 * 60 * 24,
        max_concurrent=10,
        batch_size=BATCH_SIZE,
        batch_call_cost=-(-500 // 40),
        update_calls=2,
        paid_entry_is_booked=True,
        # A Purchase's payee is optional; a Bill's vendor and an Invoice's customer are not.
        contact_needs_mapping=frozenset({EntryKind.BILL, EntryKind.INVOICE}),
    )

    def __init__(self, context):
        super().__init__(context)
        self._close_date: datetime.date | None | bool = False  # False: not read yet
        self._account_types: dict[str, str] = {}  # account Id -> AccountType, as read

    # --- reads ---------------------------------------------------------------------------------

    def _book_close_date(self) -> datetime.date | None:
        """The company's closing date (Preferences), read once per connector."""
        if self._close_date is False:
            prefs = self._send("GET", "preferences").json().get("Preferences", {})
            text = prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate")
            self._close_date = datetime.date.fromisoformat(text[:10]) if text else None
        return self._close_date

    def read_lock_date(self) -> LedgerLockDate:
        """Preferences' AccountingInfoPrefs.BookCloseDate, read afresh (the books' closing
        date: nothing dated on or before it is written)."""
        self._close_date = False
        close = self._book_close_date()
        source = f"BookCloseDate {close.isoformat()}" if close else "no closing date set"
        return LedgerLockDate(locked_through=close, source=source)

    def _state(self, entity: str, body: dict, *, check_close=True) -> EntryState:
        close = self._book_close_date() if check_close else None
        return entry_state(entity, body, close)

    def list_tenants(self) -> list[LedgerTenant]:
        check = self.check_connection()
        return [LedgerTenant(tenant_id=check.tenant_id, name=check.tenant_name)]

    def check_connection(self) -> ConnectionCheck:
        info = self._send("GET", f"companyinfo/{self.realm_id}").json().get("CompanyInfo", {})
        return ConnectionCheck(tenant_id=self.realm_id, tenant_name=info.get("CompanyName", ""))

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        entity = self._entity(kind)
        if not number:
            return []  # QBO's query cannot search the PrivateNote our reference is in
        rows = self._query_all(entity, f"DocNumber = {quoted(number)}")
        return [
            self._state(entity, row)
            for row in rows
            if reference_of(row.get("PrivateNote", "")) == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        entity = self._entity(kind)
        wanted = sorted({n for n in numbers if n})
        found: dict[str, list[EntryState]] = {}
        for start in range(0, len(wanted), NUMBERS_PER_QUERY):
            chunk = wanted[start : start + NUMBERS_PER_QUERY]
            where = f"DocNumber in ({', '.join(quoted(n) for n in chunk)})"
            for row in self._query_all(entity, where):
                reference = reference_of(row.get("PrivateNote", ""))
                if reference:
                    found.setdefault(reference, []).append(self._state(entity, row))
        return found

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        entity = self._entity(kind)
        return self._state(entity, self._read(entity, external_id))

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        entity = self._entity(kind)
        return {
            row["Id"]: self._state(entity, row) for row in self._rows_by_id(entity, external_ids)
        }

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
        # link to are read too; a deleted BillPayment of ours is one of the payments.
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

    def list_accounts(self) -> list[LedgerAccount]:
        return [
            LedgerAccount(
                external_id=account["Id"],
                # Lines name their account by Id: AcctNum is optional in QuickBooks.
                code=account["Id"],
                name=account.get("Name", ""),
                type=account.get("AccountType", ""),
                status="ACTIVE" if account.get("Active", True) else "ARCHIVED",
                account_class=account.get("Classification", "").upper(),
                kind=QBO_ACCOUNT_KINDS.get(account.get("AccountType", ""), AccountKind.OTHER),
            )
            # Inactive ones too (as archived): a mapping to one must show why it fails.
            for account in self._query_all("Account", "Active in (true, false)")
        ]

    def list_contacts(self) -> list[LedgerContact]:
        return [
            LedgerContact(
                external_id=vendor["Id"],
                name=vendor.get("DisplayName", ""),
                status="ACTIVE" if vendor.get("Active", True) else "ARCHIVED",
            )
            for vendor in self._query_all("Vendor", "Active in (true, false)")
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        """Classes (on each line) and departments ("locations", on the header)."""
        options = []
        for entity in ("Class", "Department"):
            for row in self._query_all(entity, "Active = true"):
                options.append(
                    LedgerTrackingOption(
                        category_id=entity,
                        category_name=entity,
                        option_id=row["Id"],
                        option_name=row.get("FullyQualifiedName") or row.get("Name", ""),
                    )
                )
        return options

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        return []  # US companies: QuickBooks computes sales tax itself (not synced yet)

    # --- writes --------------------------------------------------------------------------------

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        entity = self._entity(payload.kind)
        body = self._entry_body(payload)
        response = self._send(
            "POST",
            entity.lower(),
            params={"requestid": request_id(idempotency_key)},
            json_body=body,
        )
        # A write dated in closed books is refused, so what it made is not in them.
        return self._state(entity, response.json()[entity], check_close=False)

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not payloads:
            return []
        entity = self._entity(payloads[0].kind)
        if entity == "Purchase":
            self._purchase_payment_types(payloads)  # their accounts in one read
        results: list[BatchItemResult] = []
        for start in range(0, len(payloads), BATCH_SIZE):
            chunk = payloads[start : start + BATCH_SIZE]
            items = []
            for payload in chunk:
                try:
                    items.append((payload, self._entry_body(payload)))
                except ConnectorError as error:
                    results.append(BatchItemResult(payload=payload, error=error))
            results += self._batch(entity, "create", items, request_id(idempotency_key, start))
        return _in_order(results, payloads)

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        entity = self._entity(payload.kind)
        current = self._read(entity, external_id)
        try:
            return self._update(entity, current, payload, idempotency_key)
        except TransientError as error:
            if getattr(error, "qbo_code", "") != STALE_OBJECT:
                raise
        # Someone changed it since our read: read again and retry once.
        return self._update(entity, self._read(entity, external_id), payload, idempotency_key)

    def _update(self, entity, current, payload, idempotency_key) -> EntryState:
        token = current["SyncToken"]
        # The requestid names the version we change: a retry on a fresh token is a new request.
        params = {"requestid": request_id(idempotency_key, current["Id"], token)}
        identity = {"Id": current["Id"], "SyncToken": token}
        if payload.voided:
            operation = "void" if entity == "Invoice" else "delete"  # bills cannot be voided
            response = self._send(
                "POST",
                entity.lower(),
                params={**params, "operation": operation},
                json_body=identity,
            )
            answer = response.json()[entity]
            return self._state(
                entity,
                {**current, **answer, "status": "Deleted"} if operation == "delete" else answer,
                check_close=False,
            )
        response = self._send(
            "POST",
            entity.lower(),
            params=params,
            json_body={**self._entry_body(payload), **identity},
        )
        return self._state(entity, response.json()[entity], check_close=False)

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not updates:
            return []
        entity = self._entity(updates[0][1].kind)
        if any(payload.voided for _, payload in updates):
            return super().update_entries(updates, idempotency_key=idempotency_key)
        current = {row["Id"]: row for row in self._rows_by_id(entity, [i for i, _ in updates])}
        if entity == "Purchase":
            self._purchase_payment_types([payload for _, payload in updates])
        results: list[BatchItemResult] = []
        items = []
        for external_id, payload in updates:
            row = current.get(external_id)
            if row is None:
                error = NotFoundError(f"QuickBooks has no {entity} {external_id}.")
                results.append(BatchItemResult(payload=payload, error=error))
                continue
            try:
                body = self._entry_body(payload)
            except ConnectorError as error:
                results.append(BatchItemResult(payload=payload, error=error))
                continue
            items.append((payload, {**body, "Id": row["Id"], "SyncToken": row["SyncToken"]}))
        for start in range(0, len(items), BATCH_SIZE):
            chunk = items[start : start + BATCH_SIZE]
            answered = self._batch(entity, "update", chunk, request_id(idempotency_key, start))
            for (payload, body), result in zip(chunk, answered, strict=True):
                if (
                    result.error is not None
                    and getattr(result.error, "qbo_code", "") == STALE_OBJECT
                ):
                    try:  # changed since our read: read again and retry this one alone
                        state = self.update_entry(
                            body["Id"], payload, idempotency_key=f"{idempotency_key}-{body['Id']}"
                        )
                        result = BatchItemResult(payload=payload, state=state)
                    except ConnectorError as error:
                        result = BatchItemResult(payload=payload, error=error)
                results.append(result)
        return _in_order(results, [payload for _, payload in updates])

    def _batch(
        self, entity: str, operation: str, items, requestid: str, state_of=None
    ) -> list[BatchItemResult]:
        """One POST /batch of (payload, body) items; each answers its state or its own Fault."""
        if not items:
            return []
        if state_of is None:

            def state_of(answer, payload):
                return self._state(entity, answer, check_close=False)

        requests = [
            {"bId": str(index), "operation": operation, entity: body}
            for index, (_, body) in enumerate(items)
        ]
        response = self._send(
            "POST",
            "batch",
            params={"requestid": requestid},
            json_body={"BatchItemRequest": requests},
        )
        answers = {a.get("bId"): a for a in response.json().get("BatchItemResponse", [])}
        results = []
        for index, (payload, _) in enumerate(items):
            answer = answers.get(str(index), {})
            logged = {
                "request_body": self.redact(json.dumps(requests[index])),
                "response_body": self.redact(json.dumps(answer)),
            }
            if entity in answer:
                state = state_of(answer[entity], payload)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
            else:
                errors = fault_errors(answer) or [{"Message": "QuickBooks gave no answer"}]
                error = classified(errors, raw=json.dumps(answer)[:BODY_LOG_LIMIT], http_status=200)
                results.append(BatchItemResult(payload=payload, error=error, **logged))
        return results

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        entity, document = self._paid_document(payload.entry_id)
        kind = PAYMENT_ENTITY[entity]
        response = self._send(
            "POST",
            kind.lower(),
            params={"requestid": request_id(idempotency_key)},
            json_body=self._payment_body(entity, document, payload),
        )
        return payment_state(response.json()[kind], entry_id=payload.entry_id)

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        bills = {row["Id"]: row for row in self._rows_by_id("Bill", [p.entry_id for p in payloads])}
        results, items = [], []
        for payload in payloads:
            bill = bills.get(payload.entry_id)
            if bill is None:  # an invoice's payment, or gone: one by one
                results += super().create_payments([payload], idempotency_key=idempotency_key)
                continue
            items.append((payload, self._payment_body("Bill", bill, payload)))
        for start in range(0, len(items), BATCH_SIZE):
            results += self._batch(
                "BillPayment",
                "create",
                items[start : start + BATCH_SIZE],
                request_id(idempotency_key, start),
                lambda answer, payload: payment_state(answer, entry_id=payload.entry_id),
            )
        return _in_order(results, payloads)

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        entity, document = self._paid_document(entry_id)
        kind = PAYMENT_ENTITY[entity]
        ids = [link["TxnId"] for link in document.get("LinkedTxn", [])]
        if not ids:
            return []
        return [
            payment_state(row, entry_id=entry_id)
            for row in self._rows_by_id(kind, ids)
            if reference_of(row.get("PrivateNote", "")) == reference
            and money(row.get("TotalAmt")) > 0  # a voided payment is zeroed
        ]

    def _paid_document(self, entry_id: str) -> tuple[str, dict]:
        try:
            return "Bill", self._read("Bill", entry_id)
        except NotFoundError:
            return "Invoice", self._read("Invoice", entry_id)

    def _payment_body(self, entity: str, document: dict, payload: PaymentPayload) -> dict:
        link = {"TxnId": document["Id"], "TxnType": entity}
        amount = wire_number(payload.amount)
        note = f"?ref={payload.reference}"
        if entity == "Invoice":
            return {
                "CustomerRef": {"value": document["CustomerRef"]["value"]},
                "TotalAmt": amount,
                "TxnDate": payload.paid_on.isoformat(),
                "DepositToAccountRef": {"value": payload.account_code},
                "PrivateNote": note,
                "Line": [{"Amount": amount, "LinkedTxn": [link]}],
            }
        return {
            "VendorRef": {"value": document["VendorRef"]["value"]},
            "PayType": "Check",
            "TotalAmt": amount,
            "TxnDate": payload.paid_on.isoformat(),
            "CheckPayment": {"BankAccountRef": {"value": payload.account_code}},
            "PrivateNote": note,
            "Line": [{"Amount": amount, "LinkedTxn": [link]}],
        }

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        entity = self._entity(kind)
        metadata = {
            "AttachableRef": [{"EntityRef": {"type": entity, "value": external_id}}],
            "FileName": filename,
            "ContentType": content_type,
        }
        response = self._send(
            "POST",
            "upload",
            files={
                "file_metadata_0": ("metadata.json", json.dumps(metadata), "application/json"),
                "file_content_0": (filename, content, content_type),
            },
        )
        [item] = response.json().get("AttachableResponse", [{}])
        if "Attachable" not in item:
            raise classified(
                fault_errors(item), raw=json.dumps(item)[:BODY_LOG_LIMIT], http_status=200
            )
        attachable = item["Attachable"]
        return AttachmentState(
            external_id=attachable["Id"],
            filename=attachable.get("FileName", filename),
            size=int(attachable.get("Size", len(content))),
        )

    # --- payloads ------------------------------------------------------------------------------

    @staticmethod
    def _entity(kind: EntryKind) -> str:
        if kind not in ENTITY:
            raise ConfigurationError(
                f"QuickBooks entries of kind {kind} are not synced yet.",
                explanation=f"ledgersync does not push {kind} entries to QuickBooks yet.",
                hint="Record the entry in QuickBooks by hand and mark this record Complete.",
            )
        return ENTITY[kind]

    def _entry_body(self, payload: EntryPayload) -> dict:
        entity = self._entity(payload.kind)
        if entity == "Purchase":
            # The payee is optional on a Purchase (a card charge at a taxi rank has none).
            return entry_body(
                payload,
                payment_type=self._purchase_payment_types([payload])[payload.bank_account_code],
            )
        if not payload.contact_id:
            raise ConfigurationError(
                f"The contact {payload.contact_name!r} is not mapped to a QuickBooks "
                f"{'vendor' if entity == 'Bill' else 'customer'}.",
                explanation="QuickBooks needs the vendor or customer's own id on every entry.",
                hint="Map the contact (Integrations › Mappings), then re-sync.",
                missing_mapping={"kind": "contact", "local_id": None, "name": payload.contact_name},
            )
        return entry_body(payload)

    def _purchase_payment_types(self, payloads) -> dict[str, str]:
        """The PaymentType of a Purchase from each of these payloads' accounts, read once per
        connector (one query for the accounts not read yet). An account QuickBooks does not
        list (inactive, gone) is left to its own refusal of the Purchase."""
        wanted = {p.bank_account_code for p in payloads if p.bank_account_code}
        unread = wanted - set(self._account_types)
        if unread:
            found = {row["Id"]: row for row in self._rows_by_id("Account", unread)}
            for code in unread:
                self._account_types[code] = found.get(code, {}).get("AccountType", "")
        return {
            code: PURCHASE_PAYMENT_TYPES.get(self._account_types.get(code, ""), BANK_PURCHASE)
            for code in wanted | {""}
        }


def _in_order(results: list[BatchItemResult], payloads) -> list[BatchItemResult]:
    """Results in the order of the payloads (some are refused before the batch is sent)."""
    position = {id(payload): index for index, payload in enumerate(payloads)}
    return sorted(results, key=lambda result: position[id(result.payload)])
