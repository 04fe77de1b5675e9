"""The ledgers behind the tests' connections, the same way for each: what an engine test reads
and does in the in-process emulator (XeroBooks, QboBooks, MyobBooks), and the connected and
mapped organisation each one starts from (`connect_org`). tests/ledger_fixtures.py makes them
fixtures."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from bench.harness.organisations import SEEDED_MAPPINGS
from documents.models import Category, Contact
from integrations import services as integration_services
from integrations.connectors.types import OAuthCredentials
from integrations.models import Connection, Mapping, MappingKind, Provider

# Loopback, so it passes base_url_validate; the in-process transport ignores the host anyway.
EMULATOR_URL = "http://127.0.0.1:8123"
# Generous, so that tests about other rules never wait for quota.
UNLIMITED = {"per_window": 100_000, "window_seconds": 60, "max_concurrent": 100, "per_day": 10**7}


def credentials_from_token(token: dict, *, expires_in: int | None = None) -> OAuthCredentials:
    """A token answer as our credentials; `expires_in` overrides its lifetime (0: expired)."""
    seconds = int(token["expires_in"]) if expires_in is None else expires_in  # MYOB's is a string
    return OAuthCredentials(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds),
        scope=token.get("scope", ""),
    )


# --- one ledger or the other, for the engine tests that run on each ----------------------------


@dataclass(frozen=True)
class BillView:
    """A bill entry as the tests compare it, whichever ledger holds it."""

    external_id: str
    number: str
    due_date: datetime.date | None
    amount_paid: Decimal
    amount_due: Decimal


class LedgerBooks:
    """What an engine test reads and does in the ledger behind a connection (the in-process
    emulator), the same way for each ledger: the engine must not know which one it talks to."""

    provider: str
    display_name: str
    create_method: str  # the HTTP method of a single create
    booked_words: str  # what the ledger says when it refuses a change to a booked entry
    # Where the accounts carry none of our codes: the account for each category code, as the
    # admin picks it on the page (the page names it by `account_key`: its name, or its code).
    account_for_code: dict[str, str] = {}
    account_key = "name"

    def __init__(self, emulator):
        self.emulator = emulator

    def map_categories(self, connection) -> None:
        """The fix for a missing category mapping: each unmapped category to its account."""
        accounts = {
            getattr(account, self.account_key): account
            for account in integration_services.connector_for(connection).list_accounts()
        }
        mapped = Mapping.objects.filter(connection=connection, kind=MappingKind.ACCOUNT)
        categories = Category.objects.for_org(connection.org).exclude(
            pk__in=mapped.values("local_id")
        )
        for category in categories.filter(code__in=self.account_for_code):
            account = accounts[self.account_for_code[category.code]]
            integration_services.mapping_set_account(
                connection=connection, category_id=category.pk, account=account
            )

    def set_faults(self, **settings) -> None:
        self.emulator.set_faults(**settings)

    def revoke_tokens(self) -> None:
        self.emulator.revoke_tokens()

    def writes(self) -> list[dict]:
        return self.emulator.writes()

    # Each ledger: bills(), bill(id), is_voided(id), book(id), change_due_date(id, date),
    # spends() as (id, number, account, total) of the live ones, and spend_accounts by
    # expense type.


class XeroBooks(LedgerBooks):
    provider = Provider.XERO
    display_name = "Xero"
    create_method = "PUT"
    throttle_wait_seconds = 1  # the emulator's Retry-After on a burst of 429s
    booked_words = "not of valid status"

    def connect(self) -> dict:
        return self.emulator.connect()

    def connect_org(self, org, *, base_url: str = EMULATOR_URL, **fields) -> Connection:
        """`org` connected to the emulator's demo company with no quota to wait for (at
        `base_url`: a served emulator's own address; other Connection `fields` such as `name`),
        paying from account 090, its categories mapped by account code: the starting point of
        most tests that push to Xero."""
        self.emulator.set_rate_limits(
            calls_per_window=100_000, max_concurrent=100, calls_per_day=10**7
        )
        connection = _connection(
            org,
            self,
            base_url,
            self.emulator.default_tenant_id,
            {"payment_account_code": "090"},
            **fields,
        )
        self.map_categories(connection)
        return connection

    def map_categories(self, connection) -> None:
        """The fix for a missing category mapping: Xero's accounts carry our codes."""
        accounts = integration_services.connector_for(connection).list_accounts()
        integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)

    def bills(self) -> list[BillView]:
        return [self._view(invoice) for invoice in self.emulator.invoices()]

    def bill(self, external_id: str) -> BillView:
        return self._view(self.emulator.invoice(external_id))

    def is_voided(self, external_id: str) -> bool:
        return self.emulator.invoice(external_id)["Status"] == "VOIDED"

    def book(self, external_id: str) -> None:
        self.emulator.book_invoice(external_id)  # someone pays it in Xero

    def change_due_date(self, external_id: str, due_date: datetime.date) -> None:
        self.emulator.edit_invoice(external_id, {"DueDate": due_date.isoformat()})

    def writes_since(self, since: int) -> list[str]:
        """The emulator's request log after its `since`-th request: each write it took, in the
        order it took them, as "bill" or "payment"."""
        kinds = []
        for request in self.emulator.state()["requests"][since:]:
            if request["method"] in ("PUT", "POST") and request["status"] == 200:
                if request["path"].endswith("/Payments"):
                    kinds.append("payment")
                elif request["path"].endswith("/Invoices"):
                    kinds.append("bill")
        return kinds

    # Xero's demo company has no card account: both spend from a bank account.
    spend_accounts = {"card": "091", "bank": "090"}

    def spends(self) -> list[tuple]:
        return [
            (
                t["BankTransactionID"],
                t["Reference"],
                t["BankAccount"]["Code"],
                Decimal(str(t["Total"])),
            )
            for t in self.emulator.bank_transactions()
            if t["Status"] not in ("DELETED", "VOIDED")
        ]

    @staticmethod
    def _view(invoice: dict) -> BillView:
        assert invoice["Type"] == "ACCPAY"
        return BillView(
            external_id=invoice["InvoiceID"],
            number=invoice["InvoiceNumber"],
            due_date=datetime.date.fromisoformat(invoice["DueDateString"][:10]),
            amount_paid=Decimal(str(invoice["AmountPaid"])),
            amount_due=Decimal(str(invoice["AmountDue"])),
        )


class QboBooks(LedgerBooks):
    provider = Provider.QUICKBOOKS
    display_name = "QuickBooks Online"
    create_method = "POST"
    throttle_wait_seconds = 60  # no Retry-After: Intuit says to wait 60 seconds
    booked_words = "Account Period Closed"
    seeded = SEEDED_MAPPINGS["qbo"]
    account_for_code = seeded.account_for_code

    def connect(self) -> dict:
        return self.emulator.connect()

    def connect_org(self, org) -> Connection:
        from django.conf import settings

        accounts = self.emulator.entities("Account")
        [paying] = [a for a in accounts if a["Name"] == self.seeded.payment_account]
        connection = _connection(
            org,
            self,
            settings.QBO_EMULATOR_URL,
            self.emulator.default_realm_id,
            {"payment_account_code": paying["Id"]},
        )
        self.map_categories(connection)
        # QuickBooks takes no vendor by name: each one is mapped to one of its vendors.
        vendors = {v["DisplayName"]: v["Id"] for v in self.emulator.entities("Vendor")}
        for contact in Contact.objects.for_org(org).filter(name__in=vendors):
            integration_services.mapping_set(
                connection=connection,
                kind=MappingKind.CONTACT,
                local_id=contact.pk,
                external_id=vendors[contact.name],
                external_name=contact.name,
            )
        return connection

    def bills(self) -> list[BillView]:
        return [self._view(bill) for bill in self.emulator.entities("Bill")]

    def bill(self, external_id: str) -> BillView:
        return self._view(self.emulator.entity("Bill", external_id))

    def is_voided(self, external_id: str) -> bool:
        # QuickBooks cannot void a bill: it is deleted.
        return all(bill["Id"] != external_id for bill in self.emulator.entities("Bill"))

    def book(self, external_id: str) -> None:
        # The books close on the bill's date: QuickBooks then refuses any change to it.
        self.emulator.set_book_close_date(date=self.emulator.entity("Bill", external_id)["TxnDate"])

    def change_due_date(self, external_id: str, due_date: datetime.date) -> None:
        self.emulator.edit_entity("Bill", external_id, {"DueDate": due_date.isoformat()})

    @property
    def spend_accounts(self) -> dict[str, str]:
        ids = {a["Name"]: a["Id"] for a in self.emulator.entities("Account")}
        return {"card": ids["Mastercard"], "bank": ids["Checking"]}

    def spends(self) -> list[tuple]:
        return [
            (p["Id"], p["DocNumber"], p["AccountRef"]["value"], Decimal(str(p["TotalAmt"])))
            for p in self.emulator.entities("Purchase")
        ]

    @staticmethod
    def _view(bill: dict) -> BillView:
        total = Decimal(str(bill["TotalAmt"]))
        balance = Decimal(str(bill["Balance"]))
        return BillView(
            external_id=bill["Id"],
            number=bill.get("DocNumber", ""),
            due_date=datetime.date.fromisoformat(bill["DueDate"]),
            amount_paid=total - balance,
            amount_due=balance,
        )


class MyobBooks(LedgerBooks):
    provider = Provider.MYOB
    display_name = "MYOB Business"
    create_method = "POST"
    throttle_wait_seconds = 1  # MYOB's limit is a second's; it sends no Retry-After
    booked_words = "locked period"
    seeded = SEEDED_MAPPINGS["myob"]
    account_for_code = seeded.account_for_code
    account_key = seeded.account_key

    def connect(self) -> dict:
        return self.emulator.connect()

    def connect_org(self, org) -> Connection:
        from django.conf import settings

        connection = _connection(
            org,
            self,
            settings.MYOB_EMULATOR_URL,
            self.emulator.default_business_id,
            {"payment_account_code": self.seeded.payment_account},
        )
        self.map_categories(connection)
        # MYOB takes no supplier by name: every vendor is mapped to a supplier card.
        [card] = [
            s
            for s in self.emulator.records("Contact/Supplier")
            if s["CompanyName"] == self.seeded.vendor
        ]
        for contact in Contact.objects.for_org(org):
            integration_services.mapping_set(
                connection=connection,
                kind=MappingKind.CONTACT,
                local_id=contact.pk,
                external_id=card["UID"],
                external_name=card["CompanyName"],
            )
        return connection

    def bills(self) -> list[BillView]:
        return [self._view(bill) for bill in self.emulator.records("Purchase/Bill/Service")]

    def bill(self, external_id: str) -> BillView:
        return self._view(self.emulator.record(external_id))

    def is_voided(self, external_id: str) -> bool:
        # MYOB has no void: the bill is deleted.
        return all(
            bill["UID"] != external_id for bill in self.emulator.records("Purchase/Bill/Service")
        )

    def book(self, external_id: str) -> None:
        # The period is locked up to the bill's date: MYOB then refuses any change to it.
        self.emulator.set_lock_date(date=self.emulator.record(external_id)["Date"])

    def change_due_date(self, external_id: str, due_date: datetime.date) -> None:
        terms = self.emulator.record(external_id)["Terms"]
        self.emulator.edit(external_id, {"Terms": {**terms, "DueDate": f"{due_date}T00:00:00"}})

    spend_accounts = {"card": "1-1180", "bank": "1-1110"}

    def spends(self) -> list[tuple]:
        return [
            (s["UID"], s["PaymentNumber"], s["Account"]["DisplayID"], Decimal(str(s["AmountPaid"])))
            for s in self.emulator.records("Banking/SpendMoneyTxn")
        ]

    @staticmethod
    def _view(bill: dict) -> BillView:
        return BillView(
            external_id=bill["UID"],
            number=bill.get("SupplierInvoiceNumber") or "",
            due_date=datetime.date.fromisoformat(bill["Terms"]["DueDate"][:10]),
            amount_paid=Decimal(str(bill["AppliedToDate"])),
            amount_due=Decimal(str(bill["BalanceDueAmount"])),
        )


def _connection(
    org, books: LedgerBooks, base_url: str, tenant_id: str, settings: dict, **fields
) -> Connection:
    """A connection with fresh credentials from the emulator's consent without a browser, and
    no quota to wait for (UNLIMITED)."""
    from synclog.ratelimit import get_rate_limiter
    from synclog.services import connection_quota_key

    connection = Connection.objects.create(
        org=org,
        provider=books.provider,
        name=fields.pop("name", books.display_name),
        base_url=base_url,
        tenant_id=tenant_id,
        settings={**settings, "rate_limits": UNLIMITED},
        **fields,
    )
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(books.connect())
    )
    # The key its quota counts under: its own, or its ledger's (MYOB's quota is the app key's).
    get_rate_limiter().reset(connection_quota_key(connection=connection))
    return connection
