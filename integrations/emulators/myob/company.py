"""A company file's records and what every part of the books shares: the resources, MYOB's
error shape (MyobError), and its money and dates."""

import datetime
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

API_PREFIX = "/accountright/"  # a company file's API: /accountright/{businessId}/...

BILLS = "Purchase/Bill/Service"


INVOICES = "Sale/Invoice/Service"


SUPPLIER_PAYMENTS = "Purchase/SupplierPayment"


CUSTOMER_PAYMENTS = "Sale/CustomerPayment"


SUPPLIERS = "Contact/Supplier"


CUSTOMERS = "Contact/Customer"


ACCOUNTS = "GeneralLedger/Account"


TAX_CODES = "GeneralLedger/TaxCode"


JOBS = "GeneralLedger/Job"


CATEGORIES = "Category"


SPEND_MONEY = "Banking/SpendMoneyTxn"


RESOURCES = (
    BILLS,
    INVOICES,
    SUPPLIER_PAYMENTS,
    CUSTOMER_PAYMENTS,
    SUPPLIERS,
    CUSTOMERS,
    ACCOUNTS,
    TAX_CODES,
    JOBS,
    CATEGORIES,
    SPEND_MONEY,
)


TRANSACTIONS = (BILLS, INVOICES)


ATTACHABLE = (BILLS, INVOICES, SPEND_MONEY)


PAYMENTS = {BILLS: SUPPLIER_PAYMENTS, INVOICES: CUSTOMER_PAYMENTS}


PARTY = {BILLS: ("Supplier", SUPPLIERS), INVOICES: ("Customer", CUSTOMERS)}


PAID_KINDS = {SUPPLIER_PAYMENTS: ("Purchase", "Bill"), CUSTOMER_PAYMENTS: ("Sale", "Invoice")}


PAYMENT_PARTY = {
    SUPPLIER_PAYMENTS: ("Supplier", SUPPLIERS),
    CUSTOMER_PAYMENTS: ("Customer", CUSTOMERS),
}


PAYMENT_AMOUNT = {SUPPLIER_PAYMENTS: "AmountPaid", CUSTOMER_PAYMENTS: "AmountReceived"}


PAYABLE_ACCOUNT_TYPES = ("Bank", "CreditCard")


ZERO = Decimal("0.00")


NAMESPACE = uuid.UUID("6f0c4c8e-39a4-4e0b-9f53-6d3f4f1b5a11")


class MyobError(Exception):
    """A refusal in MYOB's error shape (NOTES.md, "Errors")."""

    def __init__(
        self, status: int, name: str, message: str, code: int | None = None, details: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message
        self.code = code
        self.details = details

    def body(self) -> dict:
        return error_body(self.name, self.message, self.code, self.details)


def error_body(name: str, message: str, code: int | None = None, details: str = "") -> dict:
    return {
        "Errors": [
            {
                "Name": name,
                "Message": message,
                "AdditionalDetails": details,
                "ErrorCode": code,
                "Severity": "Error",
                "LearnMore": None,
            }
        ],
        "Information": "Warning, error messages have not been finalised in this release and "
        "may change",
    }


def money(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MyobError(400, "SerializationError", f"Error converting value {value!r}", 50)
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise MyobError(
            400, "SerializationError", f"Error converting value {value!r}", 50
        ) from None


def parse_date(value) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MyobError(
            400, "SerializationError", f"Error converting value {value!r}", 50
        ) from None


def wire_date(day: datetime.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def new_record(body: dict) -> None:
    """A POST names no UID or RowVersion: MYOB answers 409 (NOTES.md)."""
    if "UID" in body or "RowVersion" in body:
        raise MyobError(409, "IncorrectRowVersion", "A new record takes no UID or RowVersion", None)


@dataclass
class CompanyFile:
    uid: str
    name: str
    base: str = ""  # the company file URI, set by the app from the host it is reached at
    lock_date: datetime.date | None = None
    locked: bool = False  # offline, or opened exclusively: every call answers 423
    must_reverse: bool = False  # TransactionsCannotBeChangedMustBeReversed
    records: dict[str, dict[str, dict]] = field(
        default_factory=lambda: {name: {} for name in RESOURCES}
    )
    attachments: dict[str, list[dict]] = field(default_factory=dict)
    writes: list[dict] = field(default_factory=list)
    versions: itertools.count = field(default_factory=lambda: itertools.count(1_000_000_001))

    def new_uid(self, *parts) -> str:
        if parts:
            return str(uuid.uuid5(NAMESPACE, ":".join([self.uid, *map(str, parts)])))
        return str(uuid.uuid4())

    def stamp(self, record: dict) -> dict:
        record["RowVersion"] = str(next(self.versions))
        return record

    def uri(self, resource: str, uid: str) -> str:
        return f"{self.base}/{resource}/{uid}"

    def find(self, uid: str) -> tuple[str, dict] | None:
        for resource, records in self.records.items():
            if uid in records:
                return resource, records[uid]
        return None


def split_path(rest: str) -> tuple[str | None, str, bool]:
    """(resource, UID or "", is an attachment path) for the path under the company file."""
    for resource in RESOURCES:
        if rest == resource:
            return resource, "", False
        if rest.startswith(resource + "/"):
            tail = rest[len(resource) + 1 :].split("/")
            if len(tail) == 1:
                return resource, tail[0].lower(), False
            if len(tail) == 2 and tail[1] == "Attachment":
                return resource, tail[0].lower(), True
    return None, "", False


def visible(resource: str, record: dict) -> dict:
    """A record as MYOB answers it (contacts keep their link name to themselves)."""
    if resource in (SUPPLIERS, CUSTOMERS):
        return {k: v for k, v in record.items() if k != "Name"}
    return record
