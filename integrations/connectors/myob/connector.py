"""The MYOB connector: writes of entries (one per call: MYOB has no batch), payments and
attachments, on its reads (lookups.py) and the reconcile's read (changes.py), over MYOB's HTTP
client (client.py).
"""

import base64

import httpx

from integrations.connectors.errors import (
    ConfigurationError,
    DataProcessingError,
    TransientError,
)
from integrations.connectors.myob.changes import MyobChanges
from integrations.connectors.myob.payloads import (
    MEMO_FIELD,
    NUMBER_FIELD,
    NUMBER_MAX,
    PARTY,
    PAYMENT_FIELDS,
    PAYMENT_RESOURCE,
    RESOURCE,
    wire_date,
    wire_number,
)
from integrations.connectors.myob.reads import entry_state, payment_state
from integrations.connectors.types import (
    AttachmentState,
    Capabilities,
    EntryKind,
    EntryPayload,
    EntryState,
    PaymentPayload,
    PaymentState,
)


class MyobConnector(MyobChanges):
    provider = "myob"
    display_name = "MYOB Business"

    # MYOB's limits are our API key's, every tenant together: 8 calls a second (480 a minute)
    # and 1,000,000 a day. No batch endpoint: one entry per call. An update reads the
    # RowVersion first; a paid bill takes no change.
    capabilities = Capabilities(
        per_minute=480,
        per_second=8,
        per_day=1_000_000,
        max_concurrent=8,
        batch_size=1,
        batch_call_cost=1,
        update_calls=2,
        paid_entry_is_booked=True,
        contact_needs_mapping=frozenset({EntryKind.BILL, EntryKind.INVOICE, EntryKind.SPEND}),
        # The limits are our API key's across every tenant: one quota for every connection.
        quota_scope="app",
    )

    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState:
        resource = self._resource(payload.kind)
        response = self._send(
            "POST", resource, params={"returnBody": "true"}, json_body=self._entry_body(payload)
        )
        return entry_state(payload.kind, self._answered(response))

    def _answered(self, response: httpx.Response) -> dict:
        """The record a write answered, or (no body) the one its Location names."""
        if response.content.strip():
            return response.json()
        location = response.headers.get("Location")
        if not location:
            raise DataProcessingError("MYOB answered a write with neither a body nor a Location.")
        return self._send("GET", location).json()

    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState:
        kind = payload.kind
        resource = self._resource(kind)
        current = self._read(kind, external_id)
        if payload.voided:
            # MYOB has no void: a voided bill or invoice is deleted (refused in a locked
            # period, with payments, or where the file wants reversals: booked).
            self._send("DELETE", f"{resource}/{current['UID']}")
            return entry_state(kind, current, deleted=True)
        try:
            return self._update(kind, current, payload)
        except TransientError as error:
            if getattr(error, "myob_name", "") not in ("IncorrectRowVersion", "ConcurrencyError"):
                raise
        # Someone changed it since our read: read again and retry once.
        return self._update(kind, self._read(kind, external_id), payload)

    def _update(self, kind: EntryKind, current: dict, payload: EntryPayload) -> EntryState:
        body = {
            "UID": current["UID"],
            **self._entry_body(payload),
            "RowVersion": current["RowVersion"],
        }
        if kind == EntryKind.BILL:
            body["Number"] = current["Number"]  # MYOB's own purchase number stays
        response = self._send(
            "PUT",
            f"{RESOURCE[kind]}/{current['UID']}",
            params={"returnBody": "true"},
            json_body=body,
        )
        if response.content.strip():
            return entry_state(kind, response.json())
        return entry_state(kind, self._read(kind, current["UID"]))

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        kind, document = self._paid_document(payload.entry_id)
        source, amount_key, line_type, link = PAYMENT_FIELDS[kind]
        amount = wire_number(payload.amount)
        body = {
            source: "Account",
            "Account": {"UID": self._account_uid(payload.account_code)},
            PARTY[kind]: {"UID": document[PARTY[kind]]["UID"]},
            "Date": wire_date(payload.paid_on),
            amount_key: amount,
            "Memo": f"?ref={payload.reference}",
            "Lines": [{"Type": line_type, link: {"UID": document["UID"]}, "AmountApplied": amount}],
        }
        response = self._send(
            "POST", PAYMENT_RESOURCE[kind], params={"returnBody": "true"}, json_body=body
        )
        return payment_state(self._answered(response), entry_id=payload.entry_id)

    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState:
        resource = self._resource(kind)
        response = self._send(
            "POST",
            f"{resource}/{external_id}/Attachment",
            json_body={
                "Attachments": [
                    {
                        "OriginalFileName": filename,
                        "FileBase64Content": base64.b64encode(content).decode(),
                    }
                ]
            },
        )
        attachments = response.json().get("Attachments") or [{}]
        mine = [a for a in attachments if a.get("OriginalFileName") == filename] or attachments
        return AttachmentState(
            external_id=mine[-1].get("UID", ""), filename=filename, size=len(content)
        )

    def _entry_body(self, payload: EntryPayload) -> dict:
        kind = payload.kind
        self._resource(kind)
        party = PARTY[kind]
        if not payload.contact_id:
            raise ConfigurationError(
                f"The contact {payload.contact_name!r} is not mapped to a MYOB {party.lower()}.",
                explanation="MYOB needs the supplier or customer card's own id on every entry.",
                hint="Map the contact (Integrations › Mappings), then re-sync.",
                missing_mapping={"kind": "contact", "local_id": None, "name": payload.contact_name},
            )
        if len(payload.number) > NUMBER_MAX[kind]:
            raise DataProcessingError(
                f"The number {payload.number!r} is longer than MYOB takes ({NUMBER_MAX[kind]}).",
                explanation="MYOB limits an invoice number to 13 characters.",
                hint="Shorten the document number, then re-sync.",
            )
        default_tax = self._default_tax_uid()  # the freight's, and lines without a rate
        memo = payload.url if payload.url and len(payload.url) <= 255 else ""
        body = {
            "Date": wire_date(payload.issue_date),
            NUMBER_FIELD[kind]: payload.number,
            party: {"UID": payload.contact_id},
            "IsTaxInclusive": False,
            MEMO_FIELD[kind]: memo or f"?ref={payload.reference}",
            "Lines": [],
        }
        if kind == EntryKind.SPEND:
            if not payload.bank_account_code:
                raise ConfigurationError(
                    "No MYOB account is chosen to spend this expense from.",
                    explanation="A card or bank expense is recorded in MYOB as Spend Money from "
                    "an account, and none is set for this kind of expense.",
                    hint="Choose the account card or bank expenses are spent from (Integrations "
                    "› Mappings), then re-sync.",
                )
            body["PayFrom"] = "Account"
            body["Account"] = {"UID": self._account_uid(payload.bank_account_code)}
        else:
            body["Terms"] = {
                "PaymentIsDue": "InAGivenNumberOfDays",
                "BalanceDueDate": max(0, (payload.due_date - payload.issue_date).days),
            }
            body["FreightTaxCode"] = {"UID": default_tax}
        for line in payload.lines:
            jobs = [r for r in line.tracking if r.category_name.lower() == "job"]
            categories = [r for r in line.tracking if r.category_name.lower() == "category"]
            if categories:
                body["Category"] = {"UID": categories[0].option_id}
            amount = wire_number(line.quantity * line.unit_amount)
            stored = {
                "Account": {"UID": self._account_uid(line.account_code)},
                "TaxCode": {"UID": line.tax_type or default_tax},
            }
            if kind == EntryKind.SPEND:  # a spend line has an amount and a memo
                stored.update({"Amount": amount, "Memo": line.description})
            else:
                stored.update({"Type": "Transaction", "Description": line.description})
                stored["Total"] = amount
            if jobs:
                stored["Job"] = {"UID": jobs[0].option_id}
            body["Lines"].append(stored)
        return body
