"""The Xero connector: writes of entries (up to 50 in one call), payments and attachments, and
the revocation of our link, on its reads (lookups.py) and the reconcile's read (changes.py),
over Xero's HTTP client (client.py).
"""

import contextlib
import json
import uuid
from urllib.parse import quote

import httpx
from django.conf import settings

from integrations.connectors.client import BODY_LOG_LIMIT
from integrations.connectors.errors import NotFoundError, TransientError
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
from integrations.connectors.xero.catalogue import classified
from integrations.connectors.xero.changes import XeroChanges
from integrations.connectors.xero.payloads import (
    INVOICE_TYPE,
    invoice_body,
    payment_body,
    spend_body,
)
from integrations.connectors.xero.reads import entry_state, payment_state, spend_state
from syncsvc.serialization import json_parsed, json_text


class XeroConnector(XeroChanges):
    provider = "xero"
    display_name = "Xero"

    # Xero's limits per tenant and app: 60 calls a minute, 5,000 a day, 5 at once; a create or
    # update takes up to 50 entries in one call, which counts as one; a paid bill is locked.
    capabilities = Capabilities(
        per_minute=60,
        per_day=5000,
        max_concurrent=5,
        batch_size=50,
        batch_call_cost=1,
        update_calls=1,
        paid_entry_is_booked=True,
    )

    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        if not connection_id and not keep_link:
            # Saved before the id was kept: find our link among this consent's, never another.
            connection_id = next(
                (
                    t.connection_id
                    for t in self.list_consent_tenants()
                    if t.tenant_id == self.context.tenant_id
                ),
                "",
            )
        if connection_id and not keep_link:
            # Already gone at Xero (disconnected there) is fine.
            with contextlib.suppress(NotFoundError):
                self._send("DELETE", f"{self.endpoints.connections}/{connection_id}", tenant=False)
        # Deleting the connection leaves the refresh token alive: revoke it too.
        refresh_token = self.context.credentials.refresh_token if self.context.credentials else ""
        if refresh_token:
            try:
                self._client.post(
                    self.endpoints.revocation,
                    data={"token": refresh_token},
                    auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
                )
            except httpx.TransportError as error:
                raise TransientError(
                    f"Xero's revocation service did not answer: {error}"
                ) from error

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        if payload.kind == EntryKind.SPEND:
            response = self._send(
                "PUT",
                f"{self.endpoints.api}/BankTransactions",
                json_body={"BankTransactions": [spend_body(payload)]},
                idempotency_key=idempotency_key,
            )
            return spend_state(response.json()["BankTransactions"][0])
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Invoices",
            json_body={"Invoices": [invoice_body(payload)]},
            idempotency_key=idempotency_key,
        )
        return entry_state(response.json()["Invoices"][0])

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        # One batch is of one kind (the engine groups by entry type): spend money goes to
        # BankTransactions, which takes many elements the same way.
        spend = bool(payloads) and payloads[0].kind == EntryKind.SPEND
        key, build, state_of = (
            ("BankTransactions", spend_body, spend_state)
            if spend
            else ("Invoices", invoice_body, entry_state)
        )
        bodies = [build(payload) for payload in payloads]
        # summarizeErrors=false: one bad bill does not sink the batch; each element reports.
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/{key}",
            params={"summarizeErrors": "false"},
            json_body={key: bodies},
            idempotency_key=idempotency_key,
        )
        return self._element_results(
            key, payloads, bodies, response, lambda answer, _: state_of(answer)
        )

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        if payload.kind == EntryKind.SPEND:
            body = {**spend_body(payload), "BankTransactionID": external_id}
            response = self._send(
                "POST",
                f"{self.endpoints.api}/BankTransactions/{external_id}",
                json_body={"BankTransactions": [body]},
                idempotency_key=idempotency_key,
            )
            return spend_state(response.json()["BankTransactions"][0])
        body = invoice_body(payload)
        body["InvoiceID"] = external_id
        response = self._send(
            "POST",
            f"{self.endpoints.api}/Invoices/{external_id}",
            json_body={"Invoices": [body]},
            idempotency_key=idempotency_key,
        )
        return entry_state(response.json()["Invoices"][0])

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        if not updates or updates[0][1].kind not in INVOICE_TYPE:
            return super().update_entries(updates, idempotency_key=idempotency_key)
        # POST /Invoices updates every element that names its InvoiceID; with
        # summarizeErrors=false each one answers on its own, as a batch create does.
        bodies = [
            {**invoice_body(payload), "InvoiceID": external_id} for external_id, payload in updates
        ]
        response = self._send(
            "POST",
            f"{self.endpoints.api}/Invoices",
            params={"summarizeErrors": "false"},
            json_body={"Invoices": bodies},
            idempotency_key=idempotency_key,
        )
        payloads = [payload for _, payload in updates]
        return self._element_results(
            "Invoices", payloads, bodies, response, lambda answer, _: entry_state(answer)
        )

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Payments",
            json_body={"Payments": [payment_body(payload)]},
            idempotency_key=idempotency_key,
        )
        return payment_state(response.json()["Payments"][0], entry_id=payload.entry_id)

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        bodies = [payment_body(payload) for payload in payloads]
        # summarizeErrors=false: one refused payment does not sink the others; each reports.
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Payments",
            params={"summarizeErrors": "false"},
            json_body={"Payments": bodies},
            idempotency_key=idempotency_key,
        )
        return self._element_results(
            "Payments",
            payloads,
            bodies,
            response,
            lambda payment, payload: payment_state(payment, entry_id=payload.entry_id),
            error_flag="HasValidationErrors",  # a Payment's name for HasErrors
        )

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        collection = "BankTransactions" if kind == EntryKind.SPEND else "Invoices"
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/{collection}/{external_id}/Attachments/{quote(filename)}",
            content=content,
            content_type=content_type,
            idempotency_key=f"attach-{external_id}-{uuid.uuid5(uuid.NAMESPACE_URL, filename)}",
        )
        attachment = response.json()["Attachments"][0]
        return AttachmentState(
            external_id=attachment["AttachmentID"],
            filename=attachment.get("FileName", filename),
            size=int(attachment.get("ContentLength", len(content))),
        )

    def _element_results(
        self, key, payloads, bodies, response, state_of, *, error_flag="HasErrors"
    ) -> list[BatchItemResult]:
        """Each element of a many-element answer (summarizeErrors=false) as its payload's
        result: its state (`state_of(element, payload)`), or the error its ValidationErrors
        name; with its own part of the request and answer for its record's log."""
        results = []
        answers = json_parsed(response.content).get(key, [])
        for payload, body, answer in zip(payloads, bodies, answers, strict=True):
            logged = {
                "request_body": self.redact(json_text({key: [body]})),
                "response_body": self.redact(json_text({key: [answer]})),
            }
            if answer.get(error_flag) or answer.get("StatusAttributeString") == "ERROR":
                messages = [item.get("Message", "") for item in answer.get("ValidationErrors", [])]
                error = classified(messages, raw=json.dumps(answer)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                state = state_of(answer, payload)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
        return results
