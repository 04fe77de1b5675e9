"""QuickBooks Online's reads behind the connector: entries found by number or read by id, the
company's closing date (the lock date), the connection check, the lists the mappings page shows,
and the accounts a Purchase is paid from. `QboChanges` (changes.py) and `QboConnector`
(connector.py, the writes) build on it.
"""

import datetime

from integrations.connectors.client import chunked
from integrations.connectors.errors import ConfigurationError, NotFoundError
from integrations.connectors.qbo.client import NUMBERS_PER_QUERY, QboClient, quoted
from integrations.connectors.qbo.payloads import (
    BANK_PURCHASE,
    ENTITY,
    PAYMENT_ENTITY,
    PURCHASE_PAYMENT_TYPES,
)
from integrations.connectors.qbo.reads import (
    QBO_ACCOUNT_KINDS,
    entry_state,
    payment_state,
)
from integrations.connectors.types import (
    AccountKind,
    ConnectionCheck,
    EntryKind,
    EntryState,
    LedgerAccount,
    LedgerContact,
    LedgerLockDate,
    LedgerTaxRate,
    LedgerTrackingOption,
    PaymentState,
)
from integrations.connectors.values import money, reference_of


class QboLookups(QboClient):
    """What the connector reads, on Intuit's HTTP client."""

    def __init__(self, context):
        super().__init__(context)
        self._close_date: datetime.date | None | bool = False  # False: not read yet
        self._account_types: dict[str, str] = {}  # account Id -> AccountType, as read

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
        found: dict[str, list[EntryState]] = {}
        for chunk in chunked(numbers, NUMBERS_PER_QUERY):
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

    @staticmethod
    def _entity(kind: EntryKind) -> str:
        if kind not in ENTITY:
            raise ConfigurationError(
                f"QuickBooks entries of kind {kind} are not synced yet.",
                explanation=f"ledgersync does not push {kind} entries to QuickBooks yet.",
                hint="Record the entry in QuickBooks by hand and mark this record Complete.",
            )
        return ENTITY[kind]

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
