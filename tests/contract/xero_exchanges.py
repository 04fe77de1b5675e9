"""Hand-made Xero traffic for the tests of Xero's contract check: ids, requests and responses
shaped like Xero's own, and `exchange()`, which sends one request through the checking transport
over an httpx.MockTransport (the path the adapter's tests take with the emulator)."""

from __future__ import annotations

import httpx

from integrations.specs.xero import (
    ContractCheckingTransport,
)

TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
CONTACT_ID = "430fa14a-f945-44d3-9f97-5df5e28441b8"
INVOICE_ID = "a4c3a0b9-3bd5-4f7c-8c2a-2f7d4c1e9b10"
LINE_ITEM_ID = "5f7a3b2c-1d4e-4f6a-9b8c-7d6e5f4a3b2c"
PAYMENT_ID = "b26fd49a-cbae-470a-a8f8-bcbc119e0379"
ACCOUNT_ID = "ebd06280-af70-4bed-97c6-7451a454ad85"
CATEGORY_ID = "351953c4-8127-4009-88c3-f9cd8c9cbe9f"
OPTION_ID = "ae777a87-5ef3-4fa0-a4f0-d10e1f13073a"
ATTACHMENT_ID = "52a643be-cd5c-489f-9778-53a9fd337d2a"
MS_DATE = "/Date(1764547200000+0000)/"

HEADERS = {
    "Authorization": "Bearer access-token",
    "xero-tenant-id": TENANT,
    "Idempotency-Key": "bill-42:v1:create",
    "Accept": "application/json",
}
EMULATOR = "http://127.0.0.1:8123/api.xro/2.0"


# ---------------------------------------------------------------------------------------------
# Payloads (realistic, shaped like Xero's own responses)
# ---------------------------------------------------------------------------------------------


def accpay_request() -> dict:
    return {
        "Invoices": [
            {
                "Type": "ACCPAY",
                "Contact": {"ContactID": CONTACT_ID},
                "InvoiceNumber": "V-1",
                "Date": "2026-11-01",
                "DueDate": "2026-12-01",
                "CurrencyCode": "USD",
                "Status": "AUTHORISED",
                "LineAmountTypes": "Exclusive",
                "LineItems": [
                    {
                        "Description": "x",
                        "Quantity": 1,
                        "UnitAmount": 10,
                        "AccountCode": "400",
                        "Tracking": [{"Name": "Department", "Option": "Sales"}],
                    }
                ],
            }
        ]
    }


def envelope(key: str, items) -> dict:
    return {
        "Id": "e3c1d6a4-6d0a-4c8e-9d8e-1f2a3b4c5d6e",
        "Status": "OK",
        "ProviderName": "ledgersync",
        "DateTimeUTC": "/Date(1764547200123)/",
        key: items,
    }


def invoice_body(**overrides) -> dict:
    invoice = {
        "Type": "ACCPAY",
        "InvoiceID": INVOICE_ID,
        "InvoiceNumber": "V-1",
        "Reference": "",
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": 10.0,
        "AmountPaid": 0.0,
        "AmountCredited": 0.0,
        "CurrencyRate": 1.0,
        "IsDiscounted": False,
        "HasAttachments": False,
        "HasErrors": False,
        "Contact": {
            "ContactID": CONTACT_ID,
            "Name": "Office Supplies Ltd",
            "ContactStatus": "ACTIVE",
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        },
        "DateString": "2026-11-01T00:00:00",
        "Date": MS_DATE,
        "DueDateString": "2026-12-01T00:00:00",
        "DueDate": "/Date(1767139200000+0000)/",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "LineItemID": LINE_ITEM_ID,
                "Description": "x",
                "Quantity": 1.0,
                "UnitAmount": 10.0,
                "AccountCode": "400",
                "TaxType": "INPUT",
                "TaxAmount": 0.0,
                "LineAmount": 10.0,
                "Tracking": [
                    {
                        "Name": "Department",
                        "Option": "Sales",
                        "TrackingCategoryID": CATEGORY_ID,
                        "TrackingOptionID": OPTION_ID,
                    }
                ],
                "ValidationErrors": [],
            }
        ],
        "SubTotal": 10.0,
        "TotalTax": 0.0,
        "Total": 10.0,
        "UpdatedDateUTC": "/Date(1764547200123+0000)/",
        "CurrencyCode": "USD",
    }
    invoice.update(overrides)
    return invoice


def payment_request() -> dict:
    return {
        "Payments": [
            {
                "Invoice": {"InvoiceID": INVOICE_ID},
                "Account": {"Code": "090"},
                "Date": "2026-11-20",
                "Amount": 100.00,
                "Reference": "ACH 123",
                "CurrencyRate": 1.0,
            }
        ]
    }


def payment_response() -> dict:
    payment = {
        "PaymentID": PAYMENT_ID,
        "Date": "/Date(1763596800000+0000)/",
        "BankAmount": 100.0,
        "Amount": 100.0,
        "Reference": "ACH 123",
        "CurrencyRate": 1.0,
        "PaymentType": "ACCPAYPAYMENT",
        "Status": "AUTHORISED",
        "UpdatedDateUTC": "/Date(1763596800123+0000)/",
        "HasAccount": True,
        "IsReconciled": False,
        "HasValidationErrors": False,
        "StatusAttributeString": "OK",
        "Account": {"AccountID": ACCOUNT_ID, "Code": "090"},
        "Invoice": {
            "Type": "ACCPAY",
            "InvoiceID": INVOICE_ID,
            "InvoiceNumber": "V-1",
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "IsDiscounted": False,
            "HasErrors": False,
            "Contact": {"ContactID": CONTACT_ID, "Name": "Office Supplies Ltd"},
            "DateString": "2026-11-01T00:00:00",
            "Date": MS_DATE,
            "Status": "PAID",
            "LineAmountTypes": "Exclusive",
            "LineItems": [],
            "CurrencyCode": "USD",
        },
    }
    return envelope("Payments", [payment])


def validation_exception(element: dict, message: str) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{**element, "ValidationErrors": [{"Message": message}]}],
    }


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


class Recorder:
    """MockTransport handler returning a canned response and remembering what reached it."""

    def __init__(self, response: httpx.Response | None = None) -> None:
        self.response = response or httpx.Response(204)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.response


def exchange(
    method: str,
    url: str,
    response: httpx.Response | None = None,
    *,
    headers: dict | None = None,
    **request_kwargs,
) -> httpx.Response:
    """Send one request through the checking transport; raises ContractViolation on mismatch."""
    transport = ContractCheckingTransport(httpx.MockTransport(Recorder(response)))
    with httpx.Client(transport=transport) as client:
        return client.request(
            method, url, headers=HEADERS if headers is None else headers, **request_kwargs
        )


def json_response(status: int, body) -> httpx.Response:
    return httpx.Response(status, json=body)


def problems_of(excinfo) -> set[tuple[str, str]]:
    return {(p.where, p.field) for p in excinfo.value.problems}
