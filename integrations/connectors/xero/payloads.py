"""Our neutral payloads as Xero's wire objects: an Invoice (ACCPAY bill or ACCREC invoice), a
SPEND bank transaction, a Payment."""

from decimal import Decimal

from integrations.connectors.types import EntryKind, EntryPayload, LinePayload, PaymentPayload

INVOICE_TYPE = {EntryKind.BILL: "ACCPAY", EntryKind.INVOICE: "ACCREC"}


def json_number(value: Decimal) -> float | int:
    # Xero takes JSON numbers; amounts have at most 4 decimals, exact in a double at these sizes.
    return int(value) if value == value.to_integral_value() else float(value)


def invoice_body(payload: EntryPayload) -> dict:
    """Our neutral payload as a Xero Invoice object."""
    return _with_lines(
        payload,
        {
            "Type": INVOICE_TYPE[payload.kind],
            "Contact": _contact(payload),
            "InvoiceNumber": payload.number,
            "Date": payload.issue_date.isoformat(),
            "DueDate": payload.due_date.isoformat(),
        },
        voided_status="VOIDED",
    )


def spend_body(payload: EntryPayload) -> dict:
    """A card or bank expense as Xero's spend money (a SPEND bank transaction): paid at once from
    the bank or card account, so there is no bill and no payment."""
    return _with_lines(
        payload,
        {
            "Type": "SPEND",
            "Contact": _contact(payload),
            "BankAccount": {"Code": payload.bank_account_code},
            "Date": payload.issue_date.isoformat(),
            "Reference": payload.number,
        },
        voided_status="DELETED",
    )


def _contact(payload: EntryPayload) -> dict:
    if payload.contact_id:
        return {"ContactID": payload.contact_id}
    return {"Name": payload.contact_name}


def _with_lines(payload: EntryPayload, head: dict, *, voided_status: str) -> dict:
    """`head` (the object's own fields) and what an Invoice and a BankTransaction share: the
    currency, how amounts stand to tax, the status (`voided_status` for a voided entry), the line
    items, the rate and our document's address."""
    body = {
        **head,
        "CurrencyCode": payload.currency,
        # Amounts are net of tax when a line names a tax rate (Xero adds the tax).
        "LineAmountTypes": "Exclusive" if any(line.tax_type for line in payload.lines) else "NoTax",
        "Status": voided_status if payload.voided else "AUTHORISED",
        "LineItems": [_line_item(line) for line in payload.lines],
    }
    if payload.currency_rate is not None:
        body["CurrencyRate"] = json_number(payload.currency_rate)
    if payload.url:
        body["Url"] = payload.url
    return body


def _line_item(line: LinePayload) -> dict:
    item = {
        "Description": line.description,
        "Quantity": json_number(line.quantity),
        "UnitAmount": json_number(line.unit_amount),
        "AccountCode": line.account_code,
    }
    if line.tax_type:
        item["TaxType"] = line.tax_type
    if line.tracking:
        item["Tracking"] = [
            {"Name": ref.category_name, "Option": ref.option_name} for ref in line.tracking
        ]
    return item


def payment_body(payload: PaymentPayload) -> dict:
    return {
        "Invoice": {"InvoiceID": payload.entry_id},
        "Account": {"Code": payload.account_code},
        "Date": payload.paid_on.isoformat(),
        "Amount": json_number(payload.amount),
        "Reference": payload.reference,
    }


def quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
