"""MYOB's reads behind the connector: entries found by number or read by id, the lock period,
the connection check, the lists the mappings page shows, and the accounts' and tax codes' UIDs
it remembers per company file (a push names them by UID without a read of its own).
`MyobChanges` (changes.py) and `MyobConnector` (connector.py, the writes) build on it.
"""

import datetime
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from integrations.connectors.client import chunked
from integrations.connectors.errors import ConfigurationError, NotFoundError
from integrations.connectors.myob.client import MyobClient, MyobEndpoints
from integrations.connectors.myob.payloads import (
    DEFAULT_TAX_CODE,
    MEMO_FIELD,
    NUMBER_FIELD,
    PAYMENT_FIELDS,
    PAYMENT_RESOURCE,
    RESOURCE,
)
from integrations.connectors.myob.reads import (
    MYOB_ACCOUNT_KINDS,
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
from integrations.connectors.values import reference_of

PAGE = 1000  # $top at most 1000
NUMBERS_PER_FILTER = 20  # a $filter of ors stays a short URL
REFERENCE_TTL = 600.0  # seconds an account's or tax code's UID is remembered in a process


@dataclass(frozen=True)
class _References:
    loaded_at: float
    accounts: dict[str, str]  # DisplayID -> UID
    tax_codes: dict[str, str]  # Code -> UID


# (API root, company file) -> its references, shared by the connectors of one process.
_REFERENCES: dict[tuple[str, str], _References] = {}
_REFERENCES_LOCK = threading.Lock()
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class MyobLookups(MyobClient):
    """What the connector reads, on MYOB's HTTP client."""

    def __init__(self, context):
        super().__init__(context)
        self._reference_rows: tuple[list[dict], list[dict]] | None = None

    @classmethod
    def requests_before_push(cls, *, base_url: str, tenant_id: str) -> int:
        """The accounts and tax codes (two reads) where this process has no fresh list of the
        company file's: on one key's 8 calls a second, reads the quota did not count meet 429s
        that pause every organisation."""
        with _REFERENCES_LOCK:
            known = _REFERENCES.get((MyobEndpoints.for_base_url(base_url).api, tenant_id))
        return 0 if known is not None and time.monotonic() - known.loaded_at < REFERENCE_TTL else 2

    def _rows(self, resource: str, where: str = "") -> list[dict]:
        """Every row of a collection, following NextPageLink."""
        rows: list[dict] = []
        params = {"$top": str(PAGE)}
        if where:
            params["$filter"] = where
        path: str = resource
        while True:
            page = self._send("GET", path, params=params).json()
            rows += page.get("Items", [])
            following = page.get("NextPageLink")
            if not following:
                return rows
            path, params = following, None

    def _read(self, kind: EntryKind, external_id: str) -> dict:
        return self._send("GET", f"{RESOURCE[kind]}/{external_id}").json()

    def check_connection(self) -> ConnectionCheck:
        company = self._send("GET", "Company").json()
        return ConnectionCheck(
            tenant_id=self.business_id, tenant_name=company.get("CompanyName", "")
        )

    def read_lock_date(self) -> LedgerLockDate:
        """Company/Preferences' System.LockPeriodPriorTo: MYOB refuses entries dated *before*
        that day, so the day before it is the last one locked."""
        system = self._send("GET", "Company/Preferences").json().get("System") or {}
        text = system.get("LockPeriodPriorTo")
        if not text:
            return LedgerLockDate(locked_through=None, source="no lock period set")
        prior_to = datetime.date.fromisoformat(str(text)[:10])
        return LedgerLockDate(
            locked_through=prior_to - datetime.timedelta(days=1),
            source=f"LockPeriodPriorTo {prior_to.isoformat()}",
        )

    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        resource = self._resource(kind)
        if not number:
            return []  # MYOB's $filter cannot reach inside the memo reliably; the number can
        rows = self._rows(resource, f"{NUMBER_FIELD[kind]} eq {quoted(number)}")
        return [
            entry_state(kind, row)
            for row in rows
            if reference_of(row.get(MEMO_FIELD[kind]) or "") == reference
        ]

    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        resource = self._resource(kind)
        found: dict[str, list[EntryState]] = {}
        for chunk in chunked(numbers, NUMBERS_PER_FILTER):
            where = " or ".join(f"{NUMBER_FIELD[kind]} eq {quoted(n)}" for n in chunk)
            for row in self._rows(resource, where):
                reference = reference_of(row.get(MEMO_FIELD[kind]) or "")
                if reference:
                    found.setdefault(reference, []).append(entry_state(kind, row))
        return found

    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState:
        self._resource(kind)
        return entry_state(kind, self._read(kind, external_id))

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        kind, _ = self._paid_document(entry_id)
        link = PAYMENT_FIELDS[kind][3]
        rows = self._rows(PAYMENT_RESOURCE[kind], f"Memo eq {quoted(f'?ref={reference}')}")
        return [
            payment_state(row, entry_id=entry_id)
            for row in rows
            if any((line.get(link) or {}).get("UID") == entry_id for line in row.get("Lines", []))
        ]

    def _paid_document(self, entry_id: str) -> tuple[EntryKind, dict]:
        try:
            return EntryKind.BILL, self._read(EntryKind.BILL, entry_id)
        except NotFoundError:
            return EntryKind.INVOICE, self._read(EntryKind.INVOICE, entry_id)

    def list_accounts(self) -> list[LedgerAccount]:
        return [
            LedgerAccount(
                external_id=account["UID"],
                # The account number people read (6-1100); lines send its UID (_account_uid).
                code=account.get("DisplayID", ""),
                name=account.get("Name", ""),
                type=account.get("Type", ""),
                status="ACTIVE" if account.get("IsActive", True) else "ARCHIVED",
                account_class=str(account.get("Classification", "")).upper(),
                # A header account only groups others: it takes no posting.
                kind=AccountKind.OTHER
                if account.get("IsHeader")
                else MYOB_ACCOUNT_KINDS.get(account.get("Type", ""), AccountKind.OTHER),
            )
            for account in self._load_references()[0]
        ]

    def list_contacts(self) -> list[LedgerContact]:
        return [
            LedgerContact(
                external_id=card["UID"],
                name=card.get("CompanyName")
                or " ".join(p for p in (card.get("FirstName"), card.get("LastName")) if p),
                status="ACTIVE" if card.get("IsActive", True) else "ARCHIVED",
            )
            for card in self._rows("Contact/Supplier")
        ]

    def list_tracking_options(self) -> list[LedgerTrackingOption]:
        """Jobs (on each line) and categories (on the header)."""
        options = [
            LedgerTrackingOption(
                category_id="Job",
                category_name="Job",
                option_id=job["UID"],
                option_name=f"{job.get('Number', '')} {job.get('Name', '')}".strip(),
            )
            for job in self._rows("GeneralLedger/Job")
            if job.get("IsActive", True) and not job.get("IsHeader")
        ]
        options += [
            LedgerTrackingOption(
                category_id="Category",
                category_name="Category",
                option_id=category["UID"],
                option_name=category.get("Name", ""),
            )
            for category in self._rows("Category")
            if not category.get("IsInactive")
        ]
        return options

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        return [
            LedgerTaxRate(
                tax_type=code["UID"],
                name=f"{code.get('Code', '')} {code.get('Description') or ''}".strip(),
                rate=Decimal(str(code.get("Rate") or 0)),
            )
            for code in self._load_references()[1]
        ]

    def _load_references(self, *, again: bool = False) -> tuple[list[dict], list[dict]]:
        """Every account and tax code of the company file (two calls, once per connector unless
        `again`), remembered by number and code for REFERENCE_TTL in this process: a push then
        names them by UID without a read of its own, which on one key's 8 calls a second
        shared by every tenant counts."""
        if self._reference_rows is not None and not again:
            return self._reference_rows
        accounts = self._rows("GeneralLedger/Account")
        tax_codes = self._rows("GeneralLedger/TaxCode")
        with _REFERENCES_LOCK:
            _REFERENCES[(self.endpoints.api, self.business_id)] = _References(
                loaded_at=time.monotonic(),
                accounts={a["DisplayID"]: a["UID"] for a in accounts if a.get("DisplayID")},
                tax_codes={t["Code"]: t["UID"] for t in tax_codes if t.get("Code")},
            )
        self._reference_rows = (accounts, tax_codes)
        return self._reference_rows

    def _reference(self, table: str, key: str) -> str | None:
        """The UID of an account number or tax code, read again once when it is not known (an
        account added since) or the remembered list is older than REFERENCE_TTL."""
        for attempt in (1, 2):
            with _REFERENCES_LOCK:
                known = _REFERENCES.get((self.endpoints.api, self.business_id))
            fresh = known is not None and time.monotonic() - known.loaded_at < REFERENCE_TTL
            if fresh and key in getattr(known, table):
                return getattr(known, table)[key]
            if attempt == 1:
                self._load_references(again=True)
        return None

    def _account_uid(self, code: str) -> str:
        """An account's UID from its number (6-1100); a UID passes as it is."""
        if GUID.fullmatch(code or ""):
            return code
        uid = self._reference("accounts", code)
        if uid is None:
            raise ConfigurationError(
                f"MYOB has no account {code}.",
                explanation="A category (or the bank account bills are paid from) is mapped to "
                "an account number this MYOB company file does not have.",
                hint="Map it to an existing MYOB account (Integrations › Mappings), then re-sync.",
            )
        return uid

    def _default_tax_uid(self) -> str:
        """MYOB needs a tax code on every line and the freight: N-T where we name none."""
        uid = self._reference("tax_codes", DEFAULT_TAX_CODE)
        if uid is None:
            raise ConfigurationError(
                f"MYOB has no {DEFAULT_TAX_CODE} tax code for lines without a tax rate.",
                explanation="Every MYOB line needs a tax code, and this document names none.",
                hint="Give the lines a tax rate, or add the N-T (Not Reportable) tax code in "
                "MYOB, then re-sync.",
            )
        return uid

    @staticmethod
    def _resource(kind: EntryKind) -> str:
        if kind not in RESOURCE:
            raise ConfigurationError(
                f"MYOB entries of kind {kind} are not synced yet.",
                explanation=f"ledgersync does not push {kind} entries to MYOB.",
                hint="Record the entry in MYOB by hand and mark this record Complete.",
            )
        return RESOURCE[kind]


def quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
