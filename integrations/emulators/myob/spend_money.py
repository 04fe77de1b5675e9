"""Spend money: paid at once from a bank or card account, no bill and no payment."""

from .company import (
    CATEGORIES,
    CUSTOMERS,
    SPEND_MONEY,
    SUPPLIERS,
    ZERO,
    MyobError,
    new_record,
    wire_date,
)


class SpendMoneyRules:
    """The books' rules for spend money (a part of `Books`)."""

    def create_spend(self, body: dict) -> dict:
        new_record(body)
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
