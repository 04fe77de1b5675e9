"""One company file's records and MYOB's business rules, in MYOB's JSON (NOTES.md).

Records are kept as the JSON the API answers. Derived fields (`TotalAmount`, `AppliedToDate`,
`BalanceDueAmount`, `Status`, `Terms.DueDate`) are computed here; every change gives the record a
new `RowVersion`. A refusal raises MyobError with MYOB's error shape.
"""

import datetime
from decimal import Decimal

from .company import (
    ACCOUNTS,
    BILLS,
    CATEGORIES,
    INVOICES,
    JOBS,
    PAID_KINDS,
    PARTY,
    PAYABLE_ACCOUNT_TYPES,
    PAYMENTS,
    TAX_CODES,
    TRANSACTIONS,
    ZERO,
    CompanyFile,
    MyobError,
    money,
    new_record,
    parse_date,
    wire_date,
)
from .payments import PaymentRules
from .spend_money import SpendMoneyRules


class Books(SpendMoneyRules, PaymentRules):
    """The rules, over one company file, at one moment: bills and invoices here, spend money
    (spend_money.py) and payments (payments.py) as its parts."""

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
        new_record(body)
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
            # As AccountRight itself: "If a purchase has a payment applied to it, you must
            # first delete the payment" (NOTES.md); the API's words and code are ours.
            raise MyobError(
                400,
                "TransactionHasPayments",
                "A transaction with payments applied cannot be deleted; delete the payments first",
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
