"""Supplier and customer payments: applied to the bills or invoices they pay, whose balances and
status follow."""

from .company import (
    BILLS,
    INVOICES,
    PAID_KINDS,
    PAYMENT_AMOUNT,
    PAYMENT_PARTY,
    SUPPLIER_PAYMENTS,
    ZERO,
    MyobError,
    money,
    new_record,
    wire_date,
)


class PaymentRules:
    """The books' rules for payments (a part of `Books`)."""

    def create_payment(self, resource: str, body: dict) -> dict:
        new_record(body)
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
