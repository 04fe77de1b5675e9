"""The Xero connector: reads and writes of entries, payments and attachments, and the lists
the mappings page shows, on Xero's HTTP client (client.py)."""

import base64
import binascii
import contextlib
import datetime
import json
import uuid
from urllib.parse import quote

import httpx
from django.conf import settings

from integrations.connectors.client import BODY_LOG_LIMIT
from integrations.connectors.errors import AuthError, NotFoundError, TransientError
from integrations.connectors.types import (
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
from integrations.connectors.xero.catalogue import classified
from integrations.connectors.xero.client import XeroClient
from integrations.connectors.xero.payloads import (
    INVOICE_TYPE,
    invoice_body,
    payment_body,
    quoted,
    spend_body,
)
from integrations.connectors.xero.reads import (
    account_kind,
    entry_state,
    money,
    parse_http_date,
    parse_xero_date,
    payment_state,
    reference_of,
    spend_state,
)

XERO_PAGE_SIZE = 100  # GET /Invoices answers 100 a page when `page` is given
KIND_OF_INVOICE_TYPE = {value: kind for kind, value in INVOICE_TYPE.items()}


def _changed_kind(collection: str, element: dict) -> EntryKind | None:
    if collection == "Invoices":
        return KIND_OF_INVOICE_TYPE.get(element.get("Type", ""))
    if collection == "BankTransactions":
        return EntryKind.SPEND if element.get("Type") == "SPEND" else None
    return None


class XeroConnector(XeroClient):
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

    # --- reads ---------------------------------------------------------------------------------

    def list_tenants(self, *, auth_event_id: str = "") -> list[LedgerTenant]:
        params = {"authEventId": auth_event_id} if auth_event_id else None
        response = self._send("GET", self.endpoints.connections, params=params, tenant=False)
        return [
            LedgerTenant(
                tenant_id=item["tenantId"],
                name=item.get("tenantName", ""),
                connection_id=item["id"],
            )
            for item in response.json()
            if item.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    def check_connection(self) -> ConnectionCheck:
        for tenant in self.list_tenants():
            if tenant.tenant_id == self.context.tenant_id:
                return ConnectionCheck(tenant_id=tenant.tenant_id, tenant_name=tenant.name)
        raise AuthError(
            "The Xero organisation is no longer connected to ledgersync.",
            explanation="Xero lists no connection to this organisation for ledgersync any more.",
            hint="An admin must reconnect Xero: Integrations › the Xero connection › Reconnect.",
        )

    def list_consent_tenants(self) -> list[LedgerTenant]:
        """Xero: the tenants of this consent are the connections carrying its authEventId (the
        access token's `authentication_event_id` claim). Without the claim, every connection of
        the user is listed and the caller must let the admin choose."""
        return self.list_tenants(auth_event_id=self._auth_event_id())

    def _auth_event_id(self) -> str:
        credentials = self.context.credentials
        token = credentials.access_token if credentials else ""
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError, binascii.Error):
            return ""  # not a JWT: the claim cannot be read
        event = claims.get("authentication_event_id") if isinstance(claims, dict) else None
        return event if isinstance(event, str) else ""

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

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        if kind == EntryKind.SPEND:
            return self._find_spends(reference=reference, number=number)
        params = {"where": f'Type=="{INVOICE_TYPE[kind]}"'}
        if number:
            params["InvoiceNumbers"] = number
        response = self._send("GET", f"{self.endpoints.api}/Invoices", params=params)
        invoices = response.json().get("Invoices", [])
        # Bill numbers are not unique in Xero; our reference rides in the entry's Url.
        return [
            entry_state(invoice)
            for invoice in invoices
            if reference_of(invoice.get("Url", "")) == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        found: dict[str, list[EntryState]] = {}
        if kind == EntryKind.SPEND:
            for number in sorted(set(numbers)):
                for state in self._find_spends(reference="", number=number):
                    found.setdefault(reference_of(state.url), []).append(state)
            return found
        # Xero takes a comma-separated list; a number holding a comma is looked up on its own.
        plain = sorted({n for n in numbers if n and "," not in n})
        queries = [",".join(plain)] if plain else []
        queries += sorted({n for n in numbers if n and "," in n})
        for numbers_param in queries:
            page = 1
            while True:
                response = self._send(
                    "GET",
                    f"{self.endpoints.api}/Invoices",
                    params={
                        "where": f'Type=="{INVOICE_TYPE[kind]}"',
                        "InvoiceNumbers": numbers_param,
                        "page": page,
                    },
                )
                invoices = response.json().get("Invoices", [])
                for invoice in invoices:
                    reference = reference_of(invoice.get("Url", ""))
                    if reference:
                        found.setdefault(reference, []).append(entry_state(invoice))
                if len(invoices) < XERO_PAGE_SIZE:
                    break
                page += 1
        return found

    def _find_spends(self, *, reference: str, number: str) -> list[EntryState]:
        """Spend money carrying our reference (in its Url), found by its Reference (our number)."""
        where = 'Type=="SPEND"' + (f' AND Reference=="{quoted(number)}"' if number else "")
        response = self._send(
            "GET", f"{self.endpoints.api}/BankTransactions", params={"where": where}
        )
        states = [spend_state(t) for t in response.json().get("BankTransactions", [])]
        wanted = [s for s in states if reference_of(s.url)]
        return [s for s in wanted if not reference or reference_of(s.url) == reference]

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        if kind == EntryKind.SPEND:
            response = self._send("GET", f"{self.endpoints.api}/BankTransactions/{external_id}")
            transactions = response.json().get("BankTransactions", [])
            if not transactions:
                raise NotFoundError(f"Xero has no bank transaction {external_id}.")
            return spend_state(transactions[0])
        response = self._send("GET", f"{self.endpoints.api}/Invoices/{external_id}")
        invoices = response.json().get("Invoices", [])
        if not invoices:
            raise NotFoundError(f"Xero has no invoice {external_id}.")
        return entry_state(invoices[0])

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        if kind not in INVOICE_TYPE:
            return super().get_entries(kind=kind, external_ids=external_ids)
        # One read for a page of ids: GET /Invoices?IDs=…; `page` makes Xero answer each invoice
        # with its line items (its list answers leave them out otherwise).
        found: dict[str, EntryState] = {}
        ids = sorted(set(external_ids))
        for start in range(0, len(ids), XERO_PAGE_SIZE):
            response = self._send(
                "GET",
                f"{self.endpoints.api}/Invoices",
                params={"IDs": ",".join(ids[start : start + XERO_PAGE_SIZE]), "page": 1},
            )
            for invoice in response.json().get("Invoices", []):
                found[invoice["InvoiceID"]] = entry_state(invoice)
        return found

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
        results = []
        answers = response.json().get("Invoices", [])
        for (_, payload), body, invoice in zip(updates, bodies, answers, strict=True):
            logged = {
                "request_body": self.redact(json.dumps({"Invoices": [body]})),
                "response_body": self.redact(json.dumps({"Invoices": [invoice]})),
            }
            if invoice.get("HasErrors") or invoice.get("StatusAttributeString") == "ERROR":
                messages = [item.get("Message", "") for item in invoice.get("ValidationErrors", [])]
                error = classified(messages, raw=json.dumps(invoice)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                results.append(
                    BatchItemResult(payload=payload, state=entry_state(invoice), **logged)
                )
        return results

    def read_lock_date(self) -> LedgerLockDate:
        """The Organisation's PeriodLockDate (everyone but advisers) and EndOfYearLockDate
        (everyone): an app cannot count on an adviser's exemption, so the later one counts."""
        response = self._send("GET", f"{self.endpoints.api}/Organisation")
        organisation = (response.json().get("Organisations") or [{}])[0]
        found = {}
        for name in ("PeriodLockDate", "EndOfYearLockDate"):
            moment = parse_xero_date(organisation.get(name))
            if moment is not None:
                found[name] = moment.date()
        if not found:
            return LedgerLockDate(locked_through=None, source="no lock date set")
        source = ", ".join(f"{name} {day.isoformat()}" for name, day in found.items())
        return LedgerLockDate(locked_through=max(found.values()), source=source)

    def list_accounts(self) -> list[LedgerAccount]:
        response = self._send("GET", f"{self.endpoints.api}/Accounts")
        return [
            LedgerAccount(
                external_id=account["AccountID"],
                code=account.get("Code", ""),
                name=account.get("Name", ""),
                type=account.get("Type", ""),
                status=account.get("Status", "ACTIVE"),
                account_class=account.get("Class", ""),
                kind=account_kind(account),
            )
            for account in response.json().get("Accounts", [])
        ]

    def list_contacts(self) -> list[LedgerContact]:
        response = self._send("GET", f"{self.endpoints.api}/Contacts")
        return [
            LedgerContact(
                external_id=contact["ContactID"],
                name=contact.get("Name", ""),
                status=contact.get("ContactStatus", "ACTIVE"),
            )
            for contact in response.json().get("Contacts", [])
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        response = self._send("GET", f"{self.endpoints.api}/TrackingCategories")
        return [
            LedgerTrackingOption(
                category_id=category["TrackingCategoryID"],
                category_name=category.get("Name", ""),
                option_id=option["TrackingOptionID"],
                option_name=option.get("Name", ""),
            )
            for category in response.json().get("TrackingCategories", [])
            for option in category.get("Options", [])
        ]

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        response = self._send("GET", f"{self.endpoints.api}/TaxRates")
        return [
            LedgerTaxRate(
                tax_type=rate["TaxType"],
                name=rate.get("Name", ""),
                rate=money(rate.get("EffectiveRate", rate.get("DisplayTaxRate", 0))),
                status=rate.get("Status", "ACTIVE"),
            )
            for rate in response.json().get("TaxRates", [])
        ]

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
        results = []
        answers = response.json().get(key, [])
        for payload, body, invoice in zip(payloads, bodies, answers, strict=True):
            logged = {
                "request_body": self.redact(json.dumps({key: [body]})),
                "response_body": self.redact(json.dumps({key: [invoice]})),
            }
            if invoice.get("HasErrors") or invoice.get("StatusAttributeString") == "ERROR":
                messages = [item.get("Message", "") for item in invoice.get("ValidationErrors", [])]
                error = classified(messages, raw=json.dumps(invoice)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                state = state_of(invoice)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
        return results

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

    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState:
        response = self._send(
            "PUT",
            f"{self.endpoints.api}/Payments",
            json_body={"Payments": [payment_body(payload)]},
            idempotency_key=idempotency_key,
        )
        return payment_state(response.json()["Payments"][0], entry_id=payload.entry_id)

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        reference = reference.replace('"', '\\"')
        response = self._send(
            "GET",
            f"{self.endpoints.api}/Payments",
            params={"where": f'Reference=="{reference}" AND Invoice.InvoiceID==Guid("{entry_id}")'},
        )
        return [
            payment_state(payment, entry_id=entry_id)
            for payment in response.json().get("Payments", [])
            if payment.get("Status") != "DELETED"
        ]

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
        results = []
        answers = response.json().get("Payments", [])
        for payload, body, payment in zip(payloads, bodies, answers, strict=True):
            logged = {
                "request_body": self.redact(json.dumps({"Payments": [body]})),
                "response_body": self.redact(json.dumps({"Payments": [payment]})),
            }
            failed = payment.get("StatusAttributeString") == "ERROR"
            if payment.get("HasValidationErrors") or failed:
                errors = payment.get("ValidationErrors", [])
                messages = [item.get("Message", "") for item in errors]
                error = classified(messages, raw=json.dumps(payment)[:BODY_LOG_LIMIT])
                results.append(BatchItemResult(payload=payload, error=error, **logged))
            else:
                state = payment_state(payment, entry_id=payload.entry_id)
                results.append(BatchItemResult(payload=payload, state=state, **logged))
        return results

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
