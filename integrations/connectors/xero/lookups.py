"""Xero's reads behind the connector: the tenants connected (and those of one consent), entries
and spend money found by number or read by id, payments found by our reference, the lock
dates and the lists the mappings page shows. `XeroChanges` (changes.py) and `XeroConnector`
(connector.py, the writes) build on it.
"""

import base64
import binascii
import json

from integrations.connectors.client import chunked
from integrations.connectors.errors import AuthError, NotFoundError
from integrations.connectors.types import (
    ConnectionCheck,
    EntryKind,
    EntryState,
    LedgerAccount,
    LedgerContact,
    LedgerLockDate,
    LedgerTaxRate,
    LedgerTenant,
    LedgerTrackingOption,
    PaymentState,
)
from integrations.connectors.values import money, reference_of
from integrations.connectors.xero.client import XeroClient
from integrations.connectors.xero.payloads import INVOICE_TYPE, quoted
from integrations.connectors.xero.reads import (
    account_kind,
    entry_state,
    parse_xero_date,
    payment_state,
    spend_state,
)

XERO_PAGE_SIZE = 100  # GET /Invoices answers 100 a page when `page` is given


class XeroLookups(XeroClient):
    """What the connector reads, on Xero's HTTP client."""

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
        for chunk in chunked(external_ids, XERO_PAGE_SIZE):
            response = self._send(
                "GET", f"{self.endpoints.api}/Invoices", params={"IDs": ",".join(chunk), "page": 1}
            )
            for invoice in response.json().get("Invoices", []):
                found[invoice["InvoiceID"]] = entry_state(invoice)
        return found

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
