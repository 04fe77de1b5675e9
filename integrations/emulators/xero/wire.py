"""Xero's JSON wire format: MS-JSON dates, money, envelopes, object and error bodies.

Field names follow `integrations/specs/xero/xero_accounting.yaml` exactly. The only names the
schemas do not declare are the ones real Xero sends anyway (envelope Id/Status/ProviderName/
DateTimeUTC, DateString/DueDateString, whole objects echoed in error Elements); `strict=True`
leaves them out.
"""

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .models import (
    INVOICE_TYPES,
    Account,
    Attachment,
    Contact,
    Invoice,
    Payment,
    Tenant,
    TrackingCategory,
)

EPOCH = date(1970, 1, 1)
MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
CENT = Decimal("0.01")


# --- dates and numbers -------------------------------------------------------------------------


def ms_date(value: date) -> str:
    """A calendar date as Xero sends it: midnight UTC in MS-JSON, `/Date(1764547200000+0000)/`."""
    return f"/Date({(value - EPOCH).days * 86_400_000}+0000)/"


def ms_timestamp(seconds: float) -> str:
    return f"/Date({int(seconds * 1000)}+0000)/"


def date_string(value: date) -> str:
    return f"{value.isoformat()}T00:00:00"


def iso_utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_7(seconds: float) -> str:
    """The identity API's timestamp style: `2019-12-07T18:46:19.5165400` (7 digits, no zone)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def today(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def parse_date(value) -> date:
    """Accept what clients send: `YYYY-MM-DD`, an ISO datetime, or MS-JSON `/Date(ms+zzzz)/`."""
    if isinstance(value, str):
        text = value.strip()
        ms = MS_DATE.match(text)
        if ms:
            return EPOCH + timedelta(milliseconds=int(ms.group(1)))
        iso = ISO_DATE.match(text)
        if iso:
            return date.fromisoformat(iso.group(1))
    raise ValueError(f"'{value}' is not a valid date")


def to_decimal(value, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"'{value}' is not a valid value for {field}") from None
    if not number.is_finite():
        raise ValueError(f"'{value}' is not a valid value for {field}")
    return number


def money(value: Decimal) -> float:
    return float(value.quantize(CENT))


def quantity(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.0001")))


def dumps(body) -> bytes:
    return json.dumps(body, default=_json_default, ensure_ascii=False).encode("utf-8")


def loads(raw: bytes):
    """Parse a request body; amounts become Decimal so 0.1 + 0.2 adds up like money."""
    return json.loads(raw.decode("utf-8"), parse_float=Decimal)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- envelopes and errors ----------------------------------------------------------------------


def envelope(key: str, items: list, *, now: float, provider: str, strict: bool, pagination=None):
    body = {}
    if not strict:
        body.update(
            {
                "Id": str(uuid.uuid4()),
                "Status": "OK",
                "ProviderName": provider,
                "DateTimeUTC": f"/Date({int(now * 1000)})/",  # Xero sends no offset here
            }
        )
    if pagination is not None:
        body["pagination"] = pagination
    body[key] = items
    return body


def validation_error(elements: list[dict]) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def error_element(submitted, messages: list[str], *, id_field: str | None, strict: bool) -> dict:
    """One entry of `Elements`: Xero echoes the submitted object with its ValidationErrors."""
    errors = [{"Message": message} for message in messages]
    submitted = submitted if isinstance(submitted, dict) else {}
    if strict:
        element = {id_field: submitted[id_field]} if id_field and id_field in submitted else {}
    else:
        element = {key: value for key, value in submitted.items() if key != "ValidationErrors"}
    element["ValidationErrors"] = errors
    return element


def failed_item(submitted, messages: list[str], *, id_field: str, flag: str, strict: bool):
    """An element of a `summarizeErrors=false` answer that was not saved."""
    item = error_element(submitted, messages, id_field=id_field, strict=strict)
    item[flag] = True  # Invoices say HasErrors, Payments and Contacts HasValidationErrors
    if flag == "HasErrors" and item.get("Type") not in INVOICE_TYPES:
        # The answer's Invoices array is typed: a Type outside Xero's enum cannot be echoed there.
        item.pop("Type", None)
    item["StatusAttributeString"] = "ERROR"
    return item


def problem(status: int, title: str, detail: str) -> dict:
    """The RFC 7807 style body Xero's gateway answers 401/403/404/5xx with."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def exception(error_number: int, type_: str, message: str) -> dict:
    return {"ErrorNumber": error_number, "Type": type_, "Message": message}


# --- objects -------------------------------------------------------------------------------------


def account_json(account: Account, *, base_currency: str) -> dict:
    body = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Status": account.status,
        "Type": account.type,
        "TaxType": account.tax_type,
        "Class": account.account_class,
        "EnablePaymentsToAccount": account.enable_payments,
        "ShowInExpenseClaims": account.account_class == "EXPENSE",
        "ReportingCode": _reporting_code(account),
        "HasAttachments": False,
        "UpdatedDateUTC": ms_timestamp(account.updated),
        "AddToWatchlist": False,
    }
    if account.description:
        body["Description"] = account.description
    if account.type == "BANK":
        body["BankAccountNumber"] = account.bank_account_number or ""
        body["BankAccountType"] = "BANK"
        body["CurrencyCode"] = base_currency
    return body


def _reporting_code(account: Account) -> str:
    return {"ASSET": "ASS", "EXPENSE": "EXP", "REVENUE": "REV", "LIABILITY": "LIA"}.get(
        account.account_class, "EQU"
    )


def contact_json(contact: Contact) -> dict:
    body = {
        "ContactID": contact.contact_id,
        "ContactStatus": contact.status,
        "Name": contact.name,
        "Addresses": [],
        "Phones": [],
        "UpdatedDateUTC": ms_timestamp(contact.updated),
        "ContactGroups": [],
        "IsSupplier": contact.is_supplier,
        "IsCustomer": contact.is_customer,
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    if contact.contact_number:
        body["ContactNumber"] = contact.contact_number
    if contact.email_address:
        body["EmailAddress"] = contact.email_address
    return body


def tracking_category_json(category: TrackingCategory, *, include_archived: bool) -> dict:
    options = [o for o in category.options if include_archived or o.status == "ACTIVE"]
    return {
        "Name": category.name,
        "Status": category.status,
        "TrackingCategoryID": category.category_id,
        "Options": [
            {"TrackingOptionID": o.option_id, "Name": o.name, "Status": o.status} for o in options
        ],
    }


def attachment_json(invoice: Invoice, attachment: Attachment, *, base_url: str) -> dict:
    body = {
        "AttachmentID": attachment.attachment_id,
        "FileName": attachment.file_name,
        "Url": f"{base_url}/api.xro/2.0/Invoices/{invoice.invoice_id}/Attachments/"
        f"{attachment.file_name}",
        "MimeType": attachment.mime_type,
        "ContentLength": len(attachment.content),
    }
    if attachment.include_online:
        body["IncludeOnline"] = True
    return body


def invoice_json(tenant: Tenant, invoice: Invoice, *, strict: bool, with_payments=True) -> dict:
    contact = tenant.contacts[invoice.contact_id]
    body = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.invoice_number,
        "Reference": invoice.reference,
    }
    if with_payments:
        body["Payments"] = [
            _invoice_payment_json(tenant.payments[pid])
            for pid in invoice.payment_ids
            if tenant.payments[pid].status == "AUTHORISED"
        ]
    body.update(
        {
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "AmountDue": money(invoice.amount_due),
            "AmountPaid": money(invoice.amount_paid),
            "AmountCredited": 0.0,
            "CurrencyRate": float(invoice.currency_rate),
            "IsDiscounted": False,
            "HasAttachments": bool(invoice.attachments),
            "HasErrors": False,
            "Contact": {"ContactID": contact.contact_id, "Name": contact.name},
        }
    )
    if not strict:
        body["DateString"] = date_string(invoice.date)
    body["Date"] = ms_date(invoice.date)
    if invoice.due_date is not None:
        if not strict:
            body["DueDateString"] = date_string(invoice.due_date)
        body["DueDate"] = ms_date(invoice.due_date)
    body.update(
        {
            "Status": invoice.status,
            "LineAmountTypes": invoice.line_amount_types,
            "LineItems": [_line_item_json(line) for line in invoice.line_items],
            "SubTotal": money(invoice.sub_total),
            "TotalTax": money(invoice.total_tax),
            "Total": money(invoice.total),
            "UpdatedDateUTC": ms_timestamp(invoice.updated),
            "UpdatedDateUTCString": iso_utc(invoice.updated),
            "CurrencyCode": invoice.currency_code,
        }
    )
    if invoice.url:
        body["Url"] = invoice.url
    if invoice.fully_paid_on is not None and invoice.status == "PAID":
        body["FullyPaidOnDate"] = ms_date(invoice.fully_paid_on)
    return body


def bank_transaction_json(tenant: Tenant, transaction, *, strict: bool) -> dict:
    contact = tenant.contacts[transaction.contact_id]
    account = tenant.accounts[transaction.bank_account_id]
    body = {
        "BankTransactionID": transaction.bank_transaction_id,
        "Type": transaction.type,
        "Contact": {"ContactID": contact.contact_id, "Name": contact.name},
        "BankAccount": {
            "AccountID": account.account_id,
            "Code": account.code,
            "Name": account.name,
        },
        "IsReconciled": transaction.is_reconciled,
        "Reference": transaction.reference,
        "CurrencyCode": transaction.currency_code,
        "CurrencyRate": float(transaction.currency_rate),
        "Status": transaction.status,
        "LineAmountTypes": transaction.line_amount_types,
        "LineItems": [_line_item_json(line) for line in transaction.line_items],
        "SubTotal": money(transaction.sub_total),
        "TotalTax": money(transaction.total_tax),
        "Total": money(transaction.total),
        "UpdatedDateUTC": ms_timestamp(transaction.updated),
        "HasAttachments": bool(transaction.attachments),
    }
    body["Date"] = ms_date(transaction.date)
    if transaction.url:
        body["Url"] = transaction.url
    return body


def _line_item_json(line) -> dict:
    body = {
        "LineItemID": line.line_item_id,
        "Description": line.description,
        "Quantity": quantity(line.quantity),
        "UnitAmount": float(line.unit_amount),
        "TaxType": line.tax_type,
        "TaxAmount": 0.0,
        "LineAmount": money(line.line_amount),
        "Tracking": [
            {
                "Name": t.category_name,
                "Option": t.option_name,
                "TrackingCategoryID": t.category_id,
                "TrackingOptionID": t.option_id,
            }
            for t in line.tracking
        ],
    }
    if line.account_code is not None:
        body["AccountCode"] = line.account_code
        body["AccountID"] = line.account_id
    if line.item_code:
        body["ItemCode"] = line.item_code
    return body


def _invoice_payment_json(payment: Payment) -> dict:
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "Amount": money(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": float(payment.currency_rate),
        "HasAccount": True,
        "HasValidationErrors": False,
    }


def payment_json(tenant: Tenant, payment: Payment, *, strict: bool) -> dict:
    account = tenant.accounts[payment.account_id]
    invoice = tenant.invoices[payment.invoice_id]
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "BankAmount": money(payment.amount * payment.currency_rate),
        "Amount": money(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": float(payment.currency_rate),
        "PaymentType": payment.payment_type,
        "Status": payment.status,
        "UpdatedDateUTC": ms_timestamp(payment.updated),
        "UpdatedDateUTCString": iso_utc(payment.updated),
        "HasAccount": True,
        "IsReconciled": payment.is_reconciled,
        "HasValidationErrors": False,
        "Account": {"AccountID": account.account_id, "Code": account.code, "Name": account.name},
        "Invoice": invoice_json(tenant, invoice, strict=strict, with_payments=False),
    }
