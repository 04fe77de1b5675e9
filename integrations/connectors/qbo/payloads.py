"""Our neutral payloads as QuickBooks Online's wire objects (Bill, Invoice, Purchase) and the
requestid that makes a retried write answer as the first one did."""

import uuid
from decimal import Decimal

from integrations.connectors.types import EntryKind, EntryPayload, PaymentPayload
from integrations.connectors.values import money

ENTITY = {EntryKind.BILL: "Bill", EntryKind.INVOICE: "Invoice", EntryKind.SPEND: "Purchase"}
PARTY = {"Bill": "VendorRef", "Invoice": "CustomerRef", "Purchase": "EntityRef"}
# A Purchase's PaymentType follows the account it is spent from (Intuit: "Cash and Check should
# have bank account, CreditCard should specify credit card account"). A bank expense is a Cash
# one: Check is for written checks, which we do not know of.
PURCHASE_PAYMENT_TYPES = {"Credit Card": "CreditCard"}
BANK_PURCHASE = "Cash"
PAYMENT_ENTITY = {"Bill": "BillPayment", "Invoice": "Payment"}


def request_id(idempotency_key: str, *parts) -> str:
    """Intuit's requestid is at most 50 characters (36 on a batch): a UUID derived from our
    key (and what else makes this request distinct) fits both and is stable across retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join([idempotency_key, *map(str, parts)])))


def wire_number(value: Decimal) -> float:
    return float(money(value))


def entry_body(payload: EntryPayload, *, payment_type: str = BANK_PURCHASE) -> dict:
    """Our neutral payload as a QBO Bill, Invoice or Purchase (lines by account or item id);
    a Purchase's `payment_type` follows the account it is spent from."""
    entity = ENTITY[payload.kind]
    body = {
        "DocNumber": payload.number,
        "TxnDate": payload.issue_date.isoformat(),
        "CurrencyRef": {"value": payload.currency},
        # Our reference, found again on the entry: QBO has no other free field on a bill.
        "PrivateNote": payload.url or f"?ref={payload.reference}",
        "Line": [],
    }
    if entity == "Purchase":
        # Spent at once from the bank or card account: no due date, no payment to come.
        body["PaymentType"] = payment_type
        body["AccountRef"] = {"value": payload.bank_account_code}
        if payload.contact_id:
            body["EntityRef"] = {"value": payload.contact_id, "type": "Vendor"}
    else:
        body[PARTY[entity]] = {"value": payload.contact_id}
        body["DueDate"] = payload.due_date.isoformat()
    if payload.currency_rate:
        # QBO's ExchangeRate is home currency per unit of the foreign one: ours inverted.
        body["ExchangeRate"] = float(Decimal(1) / payload.currency_rate)
    for line in payload.lines:
        amount = wire_number(line.quantity * line.unit_amount)
        classes = [
            r for r in line.tracking if r.category_name.lower() not in ("department", "location")
        ]
        departments = [
            r for r in line.tracking if r.category_name.lower() in ("department", "location")
        ]
        if departments:
            body["DepartmentRef"] = {"value": departments[0].option_id}
        if entity in ("Bill", "Purchase"):
            detail_type = "AccountBasedExpenseLineDetail"
            detail = {"AccountRef": {"value": line.account_code}}
        else:
            # An invoice line sells an item: the category maps to a QuickBooks item.
            detail_type = "SalesItemLineDetail"
            detail = {
                "ItemRef": {"value": line.account_code},
                "Qty": float(line.quantity),
                "UnitPrice": float(line.unit_amount),
            }
        if classes:
            detail["ClassRef"] = {"value": classes[0].option_id}
        if line.tax_type:
            detail["TaxCodeRef"] = {"value": line.tax_type}
        body["Line"].append(
            {
                "DetailType": detail_type,
                "Amount": amount,
                "Description": line.description,
                detail_type: detail,
            }
        )
    return body


def payment_body(entity: str, document: dict, payload: PaymentPayload) -> dict:
    """Our payment of a Bill or an Invoice (`document`, as QuickBooks holds it) as a BillPayment
    by check or a Payment, linked to it."""
    link = {"TxnId": document["Id"], "TxnType": entity}
    amount = wire_number(payload.amount)
    note = f"?ref={payload.reference}"
    if entity == "Invoice":
        return {
            "CustomerRef": {"value": document["CustomerRef"]["value"]},
            "TotalAmt": amount,
            "TxnDate": payload.paid_on.isoformat(),
            "DepositToAccountRef": {"value": payload.account_code},
            "PrivateNote": note,
            "Line": [{"Amount": amount, "LinkedTxn": [link]}],
        }
    return {
        "VendorRef": {"value": document["VendorRef"]["value"]},
        "PayType": "Check",
        "TotalAmt": amount,
        "TxnDate": payload.paid_on.isoformat(),
        "CheckPayment": {"BankAccountRef": {"value": payload.account_code}},
        "PrivateNote": note,
        "Line": [{"Amount": amount, "LinkedTxn": [link]}],
    }
