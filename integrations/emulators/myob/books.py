"""One company file's records and MYOB's business rules, in MYOB's JSON (NOTES.md).

Records are kept as the JSON the API answers. Derived fields (`TotalAmount`, `AppliedToDate`,
`BalanceDueAmount`, `Status`, `Terms.DueDate`) are computed here; every change gives the record a
new `RowVersion`. A refusal raises MyobError with MYOB's error shape.
"""

import datetime
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

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


def _new_record(body: dict) -> None:
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


class Books:
    """The rules, over one company file, at one moment."""

    def __init__(self, company: CompanyFile, now: float) -> None:
        self.company = company
        self.now = now

    # --- reads ---------------------------------------------------------------------------------

    def record(self, resource: str, uid: str) -> dict:
        found = self.company.records[resource].get(str(uid).lower())
        if found is None:
            raise MyobError(404, "ResourceNotFound", f"No {resource} has UID {uid}", None)
        return found

    def _link(self, resource: str, uid, label: str, *, names=()) -> dict:
        if not isinstance(uid, str):
            raise MyobError(400, "Required", f"{label} is required", 100)
        found = self.company.records[resource].get(uid.lower())
        if found is None:
            raise MyobError(400, "NotFound", f"{label} {uid} was not found", 150, label)
        link = {"UID": found["UID"]}
        for name in names:
            link[name] = found.get(name)
        link["URI"] = found["URI"]
        return link

    # --- transactions (bills and invoices) -------------------------------------------------------

    def create_transaction(self, resource: str, body: dict) -> dict:
        _new_record(body)
        record = self._transaction(resource, body, previous=None)
        self.company.records[resource][record["UID"]] = record
        self._write("create", resource, record)
        return record

    def update_transaction(self, resource: str, uid: str, body: dict) -> dict:
        current = self.record(resource, uid)
        if body.get("RowVersion") != current["RowVersion"]:
            raise MyobError(409, "IncorrectRowVersion", "Incorrect RowVersion", None)
        if body.get("UID", "").lower() != current["UID"]:
            raise MyobError(400, "UIDMismatch", "The UID does not match the URI", None)
        self._unlocked(current["Date"])
        if current["AppliedToDate"] > 0:
            raise MyobError(
                400,
                "TransactionHasPayments",
                "A transaction with payments applied cannot be changed; delete the payments first",
                25112,  # emulator choice (NOTES.md)
            )
        record = self._transaction(resource, body, previous=current)
        self.company.records[resource][record["UID"]] = record
        self._write("update", resource, record)
        return record

    def delete_transaction(self, resource: str, uid: str) -> None:
        current = self.record(resource, uid)
        self._deletable(current)
        if current["AppliedToDate"] > 0:
            raise MyobError(
                400,
                "TransactionHasPayments",
                "A transaction with payments applied cannot be deleted",
                25112,
            )
        del self.company.records[resource][current["UID"]]
        self.company.attachments.pop(current["UID"], None)
        self._write("delete", resource, current)

    def _deletable(self, current: dict) -> None:
        """A file that wants reversals, or a locked period, refuses a delete."""
        if self.company.must_reverse:
            raise MyobError(
                400,
                "TransactionsCannotBeDeleted",
                "Transactions cannot be deleted and must be reversed",
                25003,
            )
        self._unlocked(current["Date"])

    def _money_out(self, body: dict) -> tuple[datetime.date, dict]:
        """The date (not locked) and the Bank or CreditCard account a payment or spend uses."""
        if "Date" not in body:
            raise MyobError(400, "Required", "Date is required", 100)
        paid_on = parse_date(body["Date"])
        self._unlocked(wire_date(paid_on))
        account_link = self._link(
            ACCOUNTS, (body.get("Account") or {}).get("UID"), "Account", names=("Name", "DisplayID")
        )
        if self.company.records[ACCOUNTS][account_link["UID"]]["Type"] not in PAYABLE_ACCOUNT_TYPES:
            raise MyobError(
                400, "AccountNotValid", "Account must be bank or credit card type", 29001
            )
        return paid_on, account_link

    def _unlocked(self, date_text: str) -> None:
        lock = self.company.lock_date
        if lock is not None and parse_date(date_text) <= lock:
            raise MyobError(
                400,
                "BusinessEvent_DateOccured_InLockPeriod",
                f"The date falls in a locked period (locked up to {lock.isoformat()})",
                25060,  # emulator choice (NOTES.md: MYOB's code unverified)
            )

    def _transaction(self, resource: str, body: dict, previous: dict | None) -> dict:
        party_key, party_resource = PARTY[resource]
        if "Date" not in body:
            raise MyobError(400, "Required", "Date is required", 100)
        issued = parse_date(body["Date"])
        self._unlocked(wire_date(issued))
        party = self._party(party_resource, (body.get(party_key) or {}).get("UID"), party_key)
        lines = body.get("Lines")
        if not isinstance(lines, list) or not lines:
            raise MyobError(400, "Required", "Lines is required", 100)
        freight = body.get("FreightTaxCode") or {}
        freight_link = self._link(TAX_CODES, freight.get("UID"), "FreightTaxCode", names=("Code",))
        number = body.get("Number") or (previous or {}).get("Number") or self._next_number(resource)
        if len(number) > 13:
            raise MyobError(400, "StringTooLong", "Number is longer than 13 characters", 51)
        self._unique_number(resource, number, previous)
        stored_lines, total, tax = [], ZERO, ZERO
        for index, line in enumerate(lines):
            stored, tax_amount = self._line(line, index)
            stored_lines.append(stored)
            total += stored["Total"]
            tax += tax_amount
        uid = previous["UID"] if previous else self.company.new_uid()
        terms = dict(body.get("Terms") or {"PaymentIsDue": "CashOnDelivery"})
        days = int(terms.get("BalanceDueDate") or 0)
        due = issued + datetime.timedelta(days=days)
        terms.update(
            {
                "DiscountDate": int(terms.get("DiscountDate") or 0),
                "BalanceDueDate": days,
                "DiscountForEarlyPayment": 0.0,
                "MonthlyChargeForLatePayment": 0.0,
                "DiscountExpiryDate": wire_date(issued),
                "Discount": 0.0,
                "DueDate": wire_date(due),
            }
        )
        record = {
            "UID": uid,
            "Number": number,
            "Date": wire_date(issued),
            party_key: party,
            "Terms": terms,
            "IsTaxInclusive": bool(body.get("IsTaxInclusive", False)),
            "Lines": stored_lines,
            "Subtotal": total,
            "TotalTax": tax,
            "TotalAmount": total if body.get("IsTaxInclusive") else total + tax,
            "Category": self._optional(
                CATEGORIES, body.get("Category"), "Category", ("DisplayID", "Name")
            ),
            "Comment": body.get("Comment"),
            "JournalMemo": body.get("JournalMemo"),
            "FreightTaxCode": freight_link,
            "AppliedToDate": ZERO,
            "BalanceDueAmount": ZERO,
            "Status": "Open",
            "URI": self.company.uri(resource, uid),
        }
        if resource == BILLS:
            record["SupplierInvoiceNumber"] = body.get("SupplierInvoiceNumber")
        else:
            record["CustomerPurchaseOrderNumber"] = body.get("CustomerPurchaseOrderNumber")
        self._settle(record)
        return self.company.stamp(record)

    def _party(self, resource: str, uid, label: str) -> dict:
        link = self._link(resource, uid, label, names=("Name", "DisplayID"))
        card = self.company.records[resource][link["UID"]]
        if not card["IsActive"]:
            raise MyobError(
                400,
                "InactiveCard",
                f"The {label.lower()} card {card['Name']} is inactive",
                152,  # emulator choice (NOTES.md)
            )
        return link

    def _optional(self, resource: str, link, label: str, names) -> dict | None:
        if not link:
            return None
        return self._link(resource, link.get("UID"), label, names=names)

    def _line(self, line: dict, index: int) -> tuple[dict, Decimal]:
        where = f"Lines[{index}]"
        if "Total" not in line:
            raise MyobError(400, "Required", f"{where}.Total is required", 100)
        account_link = self._link(
            ACCOUNTS,
            (line.get("Account") or {}).get("UID"),
            f"{where}.Account",
            names=("Name", "DisplayID"),
        )
        account = self.company.records[ACCOUNTS][account_link["UID"]]
        if account["IsHeader"]:
            raise MyobError(
                400,
                "Line_AccountHeaderNotAllowed",
                f"{where}: {account['DisplayID']} is a header account; lines post to detail "
                "accounts",
                153,  # emulator choice
            )
        if not account["IsActive"]:
            raise MyobError(
                400, "InactiveAccount", f"{where}: account {account['DisplayID']} is inactive", 154
            )
        tax_link = self._link(
            TAX_CODES, (line.get("TaxCode") or {}).get("UID"), f"{where}.TaxCode", names=("Code",)
        )
        job = None
        if line.get("Job"):
            job = self._link(JOBS, line["Job"].get("UID"), f"{where}.Job", names=("Number", "Name"))
            if self.company.records[JOBS][job["UID"]]["IsHeader"]:
                raise MyobError(
                    400, "Line_JobHeaderNotAllowed", f"{where}: a header job takes no lines", 155
                )
        total = money(line["Total"])
        rate = Decimal(str(self.company.records[TAX_CODES][tax_link["UID"]]["Rate"]))
        stored = {
            "RowID": index + 1,
            "Type": line.get("Type", "Transaction"),
            "Description": line.get("Description"),
            "Total": total,
            "Account": account_link,
            "Job": job,
            "TaxCode": tax_link,
            "RowVersion": str(next(self.company.versions)),
        }
        return stored, (total * rate / 100).quantize(Decimal("0.01"))

    def _next_number(self, resource: str) -> str:
        return f"{len(self.company.records[resource]) + 1:08d}"

    def _unique_number(self, resource: str, number: str, previous: dict | None) -> None:
        for other in self.company.records[resource].values():
            if other["Number"] == number and (previous is None or other["UID"] != previous["UID"]):
                raise MyobError(
                    400,
                    "DuplicateNumber",
                    f"Number {number} is already used by another transaction",
                    25110,  # emulator choice
                )

    def _settle(self, record: dict) -> None:
        """Applied, balance and status from the payments that name this transaction."""
        resource = BILLS if "Supplier" in record else INVOICES
        payments = self.company.records[PAYMENTS[resource]].values()
        link_key = PAID_KINDS[PAYMENTS[resource]][0]
        applied = sum(
            (
                money(line["AmountApplied"])
                for payment in payments
                for line in payment["Lines"]
                if line[link_key]["UID"] == record["UID"]
            ),
            ZERO,
        )
        record["AppliedToDate"] = applied
        record["BalanceDueAmount"] = record["TotalAmount"] - applied
        record["Status"] = "Closed" if record["BalanceDueAmount"] <= 0 else "Open"

    # --- spend money (money paid out at once, no bill) -----------------------------------------

    def create_spend(self, body: dict) -> dict:
        _new_record(body)
        record = self._spend(body, previous=None)
        self.company.records[SPEND_MONEY][record["UID"]] = record
        self._write("create", SPEND_MONEY, record)
        return record

    def update_spend(self, uid: str, body: dict) -> dict:
        current = self.record(SPEND_MONEY, uid)
        if body.get("RowVersion") != current["RowVersion"]:
            raise MyobError(409, "IncorrectRowVersion", "Incorrect RowVersion", None)
        self._unlocked(current["Date"])
        record = self._spend(body, previous=current)
        self.company.records[SPEND_MONEY][record["UID"]] = record
        self._write("update", SPEND_MONEY, record)
        return record

    def delete_spend(self, uid: str) -> None:
        current = self.record(SPEND_MONEY, uid)
        self._deletable(current)
        del self.company.records[SPEND_MONEY][current["UID"]]
        self.company.attachments.pop(current["UID"], None)
        self._write("delete", SPEND_MONEY, current)

    def _spend(self, body: dict, previous: dict | None) -> dict:
        paid_on, account_link = self._money_out(body)
        contact_uid = (body.get("Contact") or {}).get("UID")
        contact_resource = next(
            (
                r
                for r in (SUPPLIERS, CUSTOMERS)
                if str(contact_uid).lower() in self.company.records[r]
            ),
            SUPPLIERS,
        )
        contact = self._party(contact_resource, contact_uid, "Contact")
        contact["Type"] = "Supplier" if contact_resource == SUPPLIERS else "Customer"
        lines = body.get("Lines")
        if not isinstance(lines, list) or not lines:
            raise MyobError(400, "Required", "Lines is required", 100)
        stored_lines, total, tax = [], ZERO, ZERO
        for index, line in enumerate(lines):
            stored, tax_amount = self._line({**line, "Total": line.get("Amount")}, index)
            stored_lines.append(
                {
                    "RowID": stored["RowID"],
                    "Account": stored["Account"],
                    "Job": stored["Job"],
                    "TaxCode": stored["TaxCode"],
                    "Amount": stored["Total"],
                    "Memo": line.get("Memo"),
                    "RowVersion": stored["RowVersion"],
                }
            )
            total += stored["Total"]
            tax += tax_amount
        inclusive = bool(body.get("IsTaxInclusive", False))
        uid = previous["UID"] if previous else self.company.new_uid()
        record = {
            "UID": uid,
            "PayFrom": body.get("PayFrom", "Account"),
            "Account": account_link,
            "Contact": contact,
            "PaymentNumber": body.get("PaymentNumber") or self._next_number(SPEND_MONEY),
            "Date": wire_date(paid_on),
            "AmountPaid": total if inclusive else total + tax,
            "IsTaxInclusive": inclusive,
            "TotalTax": tax,
            "Memo": body.get("Memo"),
            "Lines": stored_lines,
            "Category": self._optional(
                CATEGORIES, body.get("Category"), "Category", ("DisplayID", "Name")
            ),
            "DeliveryStatus": "Nothing",
            "URI": self.company.uri(SPEND_MONEY, uid),
        }
        return self.company.stamp(record)

    # --- payments --------------------------------------------------------------------------------

    def create_payment(self, resource: str, body: dict) -> dict:
        _new_record(body)
        link_key, line_type = PAID_KINDS[resource]
        party_key, party_resource = PAYMENT_PARTY[resource]
        paid_on, account_link = self._money_out(body)
        party = self._party(party_resource, (body.get(party_key) or {}).get("UID"), party_key)
        lines = body.get("Lines")
        if not isinstance(lines, list) or not lines:
            raise MyobError(400, "Required", "Lines is required", 100)
        paid_resource = BILLS if resource == SUPPLIER_PAYMENTS else INVOICES
        stored_lines, total = [], ZERO
        for index, line in enumerate(lines):
            target_uid = (line.get(link_key) or {}).get("UID")
            target_link = self._link(
                paid_resource, target_uid, f"Lines[{index}].{link_key}", names=("Number",)
            )
            target = self.company.records[paid_resource][target_link["UID"]]
            if target[party_key]["UID"] != party["UID"]:
                raise MyobError(
                    400, "CardMismatch", f"Lines[{index}]: the transaction is another card's", 156
                )
            amount = money(line.get("AmountApplied"))
            if amount <= 0 or amount > target["BalanceDueAmount"]:
                raise MyobError(
                    400,
                    "AmountAppliedExceedsBalance",
                    f"Lines[{index}]: {amount} is more than the {target['BalanceDueAmount']} owing",
                    25120,  # emulator choice
                )
            stored_lines.append(
                {
                    "Type": line.get("Type", line_type),
                    link_key: target_link,
                    "AmountApplied": amount,
                    "RowID": index + 1,
                    "RowVersion": str(next(self.company.versions)),
                }
            )
            total += amount
        uid = self.company.new_uid()
        amount_key = PAYMENT_AMOUNT[resource]
        if body.get(amount_key) is not None and money(body[amount_key]) != total:
            raise MyobError(
                400, "AmountMismatch", f"{amount_key} differs from the lines' total", 157
            )
        record = {
            "UID": uid,
            party_key: party,
            "Account": account_link,
            "Date": wire_date(paid_on),
            amount_key: total,
            "Memo": body.get("Memo"),
            "Lines": stored_lines,
            "URI": self.company.uri(resource, uid),
        }
        if resource == SUPPLIER_PAYMENTS:
            record.update(
                {
                    "PayFrom": body.get("PayFrom", "Account"),
                    "PaymentNumber": body.get("PaymentNumber") or self._next_number(resource),
                    "DeliveryStatus": "Nothing",
                }
            )
        else:
            record.update(
                {
                    "DepositTo": body.get("DepositTo", "Account"),
                    "ReceiptNumber": body.get("ReceiptNumber") or self._next_number(resource),
                }
            )
        self.company.records[resource][uid] = self.company.stamp(record)
        for line in stored_lines:
            target = self.company.records[paid_resource][line[link_key]["UID"]]
            self._settle(target)
        self._write("create", resource, record)
        return record

    def delete_payment(self, resource: str, uid: str) -> None:
        current = self.record(resource, uid)
        self._unlocked(current["Date"])
        del self.company.records[resource][current["UID"]]
        link_key = PAID_KINDS[resource][0]
        paid_resource = BILLS if resource == SUPPLIER_PAYMENTS else INVOICES
        for line in current["Lines"]:
            target = self.company.records[paid_resource].get(line[link_key]["UID"])
            if target is not None:
                self._settle(target)
        self._write("delete", resource, current)

    # --- attachments -----------------------------------------------------------------------------

    def attach(self, resource: str, uid: str, body: dict) -> dict:
        record = self.record(resource, uid)
        files = body.get("Attachments") if isinstance(body, dict) else None
        if not isinstance(files, list) or len(files) != 1:
            raise MyobError(400, "Required", "Attachments takes exactly one document", 100)
        [document] = files
        if not document.get("OriginalFileName") or not document.get("FileBase64Content"):
            raise MyobError(
                400, "Required", "OriginalFileName and FileBase64Content are required", 100
            )
        if len(document["FileBase64Content"]) * 3 // 4 > 3 * 1024 * 1024:
            raise MyobError(400, "FileTooLarge", "Documents must be under 3 MB", 158)
        attachment_uid = self.company.new_uid()
        stored = {
            "UID": attachment_uid,
            "OriginalFileName": document["OriginalFileName"],
            "ThumbnailUri": None,
            "FileUri": f"{record['URI']}/Attachment/{attachment_uid}/file",
            "FileBase64Content": None,
            "URI": f"{record['URI']}/Attachment/{attachment_uid}",
            "RowVersion": str(next(self.company.versions)),
            "size": len(document["FileBase64Content"]) * 3 // 4,
        }
        self.company.attachments.setdefault(record["UID"], []).append(stored)
        return self.attachments(resource, uid)

    def attachments(self, resource: str, uid: str) -> dict:
        record = self.record(resource, uid)
        return {
            "UID": record["UID"],
            "Attachments": [
                {k: v for k, v in a.items() if k != "size"}
                for a in self.company.attachments.get(record["UID"], [])
            ],
            "URI": f"{record['URI']}/Attachment",
            "RowVersion": record["RowVersion"],
        }

    # --- edits behind our back (the control API) ------------------------------------------------

    def edit(self, uid: str, changes: dict) -> dict:
        found = self.company.find(str(uid).lower())
        if found is None:
            raise KeyError(f"unknown record '{uid}'")
        resource, record = found
        record.update(changes)
        if resource in TRANSACTIONS and "Lines" in changes:
            record["Subtotal"] = sum((money(line["Total"]) for line in record["Lines"]), ZERO)
            record["TotalAmount"] = record["Subtotal"] + money(record.get("TotalTax", 0))
        if resource in TRANSACTIONS:
            self._settle(record)
        self.company.stamp(record)
        self._write("edit", resource, record)
        return record

    def _write(self, action: str, resource: str, record: dict) -> None:
        self.company.writes.append(
            {
                "at": self.now,
                "action": action,
                "resource": resource,
                "UID": record["UID"],
                "RowVersion": record.get("RowVersion"),
                "Number": record.get("Number"),
                "TotalAmount": record.get("TotalAmount"),
            }
        )
