"""The QuickBooks Online connector: writes of entries (one at a time or in batches of 30),
payments and attachments, on its reads (lookups.py) and the reconcile's read (changes.py),
over Intuit's HTTP client (client.py).
"""

import json

from integrations.connectors.client import BODY_LOG_LIMIT
from integrations.connectors.errors import (
    ConfigurationError,
    ConnectorError,
    NotFoundError,
    TransientError,
)
from integrations.connectors.qbo.catalogue import classified, fault_errors
from integrations.connectors.qbo.changes import QboChanges
from integrations.connectors.qbo.payloads import (
    PAYMENT_ENTITY,
    entry_body,
    payment_body,
    request_id,
)
from integrations.connectors.qbo.reads import payment_state
from integrations.connectors.types import (
    AttachmentState,
    BatchItemResult,
    Capabilities,
    EntryKind,
    EntryPayload,
    EntryState,
    PaymentPayload,
    PaymentState,
)

BATCH_SIZE = 30  # Intuit's limits page: at most 30 operations per batch
STALE_OBJECT = "5010"


class QboConnector(QboChanges):
    provider = "quickbooks"
    display_name = "QuickBooks Online"

    # Intuit's throttles per realm and app: 500 requests a minute, 10 a second, and 40 batch
    # requests a minute of at most 30 operations each. A batch weighs 500/40 rounded up (13)
    # calls, so a run of batches stays under 40 a minute; a second's burst of more than 10 is
    # answered 429 and waited out like any throttle. No daily cap is published: the minute's
    # bounds the day. An update reads the SyncToken first. A bill with a payment still takes a
    # change (all but a total below what is paid, Fault 6000), unlike Xero's and MYOB's: a
    # payment does not book it; closed books, a full payment or a void do (reads.py).
    capabilities = Capabilities(
        per_minute=500,
        per_second=10,
        per_day=500 * 60 * 24,
        max_concurrent=10,
        batch_size=BATCH_SIZE,
        batch_call_cost=-(-500 // 40),
        update_calls=2,
        paid_entry_is_booked=False,
        # A Purchase's payee is optional; a Bill's vendor and an Invoice's customer are not.
        contact_needs_mapping=frozenset({EntryKind.BILL, EntryKind.INVOICE}),
    )

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
            json_body=payment_body(entity, document, payload),
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
            items.append((payload, payment_body("Bill", bill, payload)))
        for start in range(0, len(items), BATCH_SIZE):
            results += self._batch(
                "BillPayment",
                "create",
                items[start : start + BATCH_SIZE],
                request_id(idempotency_key, start),
                lambda answer, payload: payment_state(answer, entry_id=payload.entry_id),
            )
        return _in_order(results, payloads)

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


def _in_order(results: list[BatchItemResult], payloads) -> list[BatchItemResult]:
    """Results in the order of the payloads (some are refused before the batch is sent)."""
    position = {id(payload): index for index, payload in enumerate(payloads)}
    return sorted(results, key=lambda result: position[id(result.payload)])
