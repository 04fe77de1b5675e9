"""Proves the Xero contract harness accepts valid traffic and rejects each kind of mismatch.

Requests and responses are built by hand and sent through ContractCheckingTransport wrapping an
httpx.MockTransport, i.e. exactly the path adapter tests will use with the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gzip
import json
import time

import httpx
import jsonschema
import pytest

from integrations.specs import contract as common
from integrations.specs.xero import (
    AsyncContractCheckingTransport,
    ContractCheckingTransport,
    ContractViolation,
    check_exchange,
    validate_exchange,
)
from integrations.specs.xero import strict as xc
from tests.contract import fixtures

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


# ---------------------------------------------------------------------------------------------
# Loading and the strict transform
# ---------------------------------------------------------------------------------------------


def test_spec_is_cached_per_process_and_made_strict():
    started = time.perf_counter()
    spec = xc.get_spec("accounting")
    assert time.perf_counter() - started < 5
    assert xc.get_spec("accounting") is spec
    schemas = spec.document["components"]["schemas"]
    assert schemas["Invoice"]["additionalProperties"] is False
    assert schemas["LineItem"]["additionalProperties"] is False
    assert schemas["Element"]["additionalProperties"] is True  # allowance: echoes any object
    identity = xc.get_spec("identity").document["components"]["schemas"]
    assert identity["Connection"]["additionalProperties"] is False  # has no 'type: object'


def test_disk_cache_round_trip_equals_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setattr(xc.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv(xc.CACHE_ENV, raising=False)
    first = xc.load_strict_document("identity")  # builds and writes
    assert list(tmp_path.glob("ledgersync-xero-contract-*/identity-*.json"))
    assert xc.load_strict_document("identity") == first  # read back
    raw = xc.load_yaml(xc.SPEC_FILES["identity"])
    assert xc.strict_document(raw, "identity") == first


def test_yaml_timestamps_stay_strings(tmp_path):
    # The accounting spec has unquoted example timestamps (HistoryRecord.DateUTCString).
    path = tmp_path / "spec.yaml"
    path.write_text("DateUTCString: 2019-02-23T05:23:20\n200:\n  ok: yes\n")
    assert xc.load_yaml(path) == {"DateUTCString": "2019-02-23T05:23:20", "200": {"ok": True}}


ALL_OF_DOC = {
    "openapi": "3.0.0",
    "components": {
        "schemas": {
            "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Child": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"type": "object", "properties": {"extra": {"type": "integer"}}},
                ]
            },
        }
    },
}


def _validator(doc: dict, name: str) -> jsonschema.Draft4Validator:
    schema = {"$ref": f"#/components/schemas/{name}", **doc}
    return jsonschema.Draft4Validator(schema)


def test_all_of_parts_stay_open_and_composite_is_closed():
    doc = xc.strict_document(ALL_OF_DOC)
    child = _validator(doc, "Child")
    assert not list(child.iter_errors({"id": "a", "extra": 1}))
    assert list(child.iter_errors({"id": "a", "extra": "one"}))  # parts still type-check
    assert list(child.iter_errors({"id": "a", "unknown": 1}))  # composite is strict
    base = _validator(doc, "Base")
    assert list(base.iter_errors({"id": "a", "extra": 1}))  # standalone Base stays strict
    assert "additionalProperties" not in ALL_OF_DOC["components"]["schemas"]["Base"]  # no mutation


def test_nested_all_of_chains_are_handled():
    doc = copy.deepcopy(ALL_OF_DOC)
    doc["components"]["schemas"]["Grand"] = {
        "allOf": [
            {"$ref": "#/components/schemas/Child"},
            {"properties": {"z": {"type": "boolean"}}},
        ]
    }
    doc = xc.strict_document(doc)
    grand = _validator(doc, "Grand")
    assert not list(grand.iter_errors({"id": "a", "extra": 1, "z": True}))
    assert list(grand.iter_errors({"id": "a", "unknown": 1}))
    assert list(_validator(doc, "Child").iter_errors({"id": "a", "extra": 1, "z": True}))
    assert list(_validator(doc, "Base").iter_errors({"id": "a", "extra": 1}))


def test_properties_beside_one_of_with_properties_is_refused():
    doc = {
        "components": {
            "schemas": {
                "X": {
                    "properties": {"a": {}},
                    "oneOf": [{"properties": {"b": {}}}, {"properties": {"c": {}}}],
                }
            }
        }
    }
    with pytest.raises(xc.UnsupportedComposition):
        xc.strict_document(doc)


# ---------------------------------------------------------------------------------------------
# Invoices (bills)
# ---------------------------------------------------------------------------------------------


def test_valid_accpay_create_and_response_pass():
    response = exchange(
        "PUT",
        f"{EMULATOR}/Invoices?summarizeErrors=false",
        json_response(200, envelope("Invoices", [invoice_body()])),
        json=accpay_request(),
    )
    assert response.json()["Invoices"][0]["InvoiceID"] == INVOICE_ID


def test_any_host_and_prefix_map_onto_the_spec_server():
    for base in ("http://xero.emulator/api.xro/2.0", "http://localhost/xero/api.xro/2.0"):
        request = httpx.Request("PUT", f"{base}/Invoices", json=accpay_request(), headers=HEADERS)
        assert check_exchange(request) == []


def test_unknown_invoice_field_fails_and_never_reaches_the_emulator():
    body = accpay_request()
    body["Invoices"][0]["Foo"] = 1
    recorder = Recorder()
    transport = ContractCheckingTransport(httpx.MockTransport(recorder))
    with httpx.Client(transport=transport) as client, pytest.raises(ContractViolation) as excinfo:
        client.put(f"{EMULATOR}/Invoices", json=body, headers=HEADERS)
    assert recorder.seen == []
    message = str(excinfo.value)
    assert "PUT /api.xro/2.0/Invoices" in message
    assert "createInvoices" in message
    assert "$.Invoices[0].Foo" in message
    assert "field not in the spec" in message


def test_wrong_type_fails():
    body = accpay_request()
    body["Invoices"][0]["LineItems"][0]["Quantity"] = "two"
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", json=body)
    assert ("request body", "$.Invoices[0].LineItems[0].Quantity") in problems_of(excinfo)


def test_wrong_enum_and_bad_uuid_fail():
    body = accpay_request()
    body["Invoices"][0]["Status"] = "APPROVED"
    body["Invoices"][0]["Contact"]["ContactID"] = "<uuid>"
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", json=body)
    assert problems_of(excinfo) == {
        ("request body", "$.Invoices[0].Status"),
        ("request body", "$.Invoices[0].Contact.ContactID"),
    }


def test_missing_tenant_header_fails():
    headers = {k: v for k, v in HEADERS.items() if k != "xero-tenant-id"}
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", headers=headers, json=accpay_request())
    assert ("request header", "xero-tenant-id") in problems_of(excinfo)


def test_missing_bearer_token_fails():
    headers = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    with pytest.raises(ContractViolation) as excinfo:
        exchange("GET", f"{EMULATOR}/Invoices", headers=headers)
    assert ("request header", "Authorization") in problems_of(excinfo)


def test_undeclared_query_parameter_fails():
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices?summariseErrors=false", json=accpay_request())
    assert ("request query", "summariseErrors") in problems_of(excinfo)


def test_idempotency_key_longer_than_128_fails():
    headers = {**HEADERS, "Idempotency-Key": "k" * 129}
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", headers=headers, json=accpay_request())
    assert ("request header", "Idempotency-Key") in problems_of(excinfo)


def test_read_only_fields_are_response_only():
    body = accpay_request()
    body["Invoices"][0]["DateString"] = "2026-11-01T00:00:00"  # allowed in responses only
    body["Id"] = "e3c1d6a4-6d0a-4c8e-9d8e-1f2a3b4c5d6e"  # envelope field, responses only
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", json=body)
    assert problems_of(excinfo) == {
        ("request body", "$.Invoices[0].DateString"),
        ("request body", "$.Id"),
    }


def test_get_invoices_with_filters_and_if_modified_since():
    headers = {**HEADERS, "If-Modified-Since": "2026-11-01T00:00:00"}  # Xero's documented form
    params = {"where": 'Type=="ACCPAY"', "Statuses": "AUTHORISED,PAID", "page": "1"}
    exchange(
        "GET",
        f"{EMULATOR}/Invoices",
        json_response(200, envelope("Invoices", [invoice_body()])),
        headers=headers,
        params=params,
    )
    with pytest.raises(ContractViolation) as excinfo:
        exchange("GET", f"{EMULATOR}/Invoices", headers={**HEADERS, "If-Modified-Since": "soon"})
    assert ("request header", "If-Modified-Since") in problems_of(excinfo)


def test_path_case_and_unknown_paths_fail():
    request = httpx.Request("GET", f"{EMULATOR}/invoices", headers=HEADERS)
    assert [p.where for p in check_exchange(request)] == ["request path"]
    request = httpx.Request("GET", "http://127.0.0.1:8123/api/v2/bills", headers=HEADERS)
    assert [p.where for p in check_exchange(request)] == ["request path"]


def test_invoice_response_with_unknown_field_fails():
    response = json_response(200, envelope("Invoices", [invoice_body(Foo=1)]))
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", response, json=accpay_request())
    assert problems_of(excinfo) == {("response body", "$.Invoices[0].Foo")}


def test_response_dates_must_look_like_dates():
    response = json_response(200, envelope("Invoices", [invoice_body(Date="01/11/2026")]))
    with pytest.raises(ContractViolation) as excinfo:
        exchange("GET", f"{EMULATOR}/Invoices/{INVOICE_ID}", response)
    assert problems_of(excinfo) == {("response body", "$.Invoices[0].Date")}


def test_validation_exception_passes_and_bad_one_fails():
    element = {**accpay_request()["Invoices"][0], "InvoiceID": INVOICE_ID}
    body = validation_exception(element, "Invoice not of valid status for modification")
    exchange("PUT", f"{EMULATOR}/Invoices", json_response(400, body), json=accpay_request())
    body["ErrorNumber"] = "ten"
    body["Elements"][0]["ValidationErrors"][0]["Code"] = 1
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Invoices", json_response(400, body), json=accpay_request())
    assert problems_of(excinfo) == {
        ("response body", "$.ErrorNumber"),
        ("response body", "$.Elements[0].ValidationErrors[0].Code"),
    }


_JSON_CT = {"Content-Type": "application/json"}


def test_undeclared_error_statuses_are_shape_checked_only():
    url = f"{EMULATOR}/Invoices/{INVOICE_ID}"
    problem = {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"}
    exchange("GET", url, json_response(401, problem))
    exchange("GET", url, json_response(403, {"Title": "Forbidden"}))
    exchange(
        "GET", url, httpx.Response(404, text="The resource you're looking for cannot be found")
    )
    exchange("GET", url, httpx.Response(429, headers={"Retry-After": "30"}))
    exchange("GET", url, httpx.Response(503, text="Service unavailable"))
    with pytest.raises(ContractViolation, match="JSON expected"):
        exchange("GET", url, httpx.Response(401, html="<html>nope</html>"))
    with pytest.raises(ContractViolation, match="Retry-After"):
        exchange("GET", url, httpx.Response(429))
    with pytest.raises(ContractViolation, match="claims JSON"):
        exchange("GET", url, httpx.Response(500, content=b"{oops", headers=_JSON_CT))
    with pytest.raises(ContractViolation, match="status not declared"):
        exchange("PUT", f"{EMULATOR}/Invoices", json_response(201, {}), json=accpay_request())


# ---------------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------------


def test_create_payments_request_and_response_pass():
    exchange(
        "PUT",
        f"{EMULATOR}/Payments",
        json_response(200, payment_response()),
        json=payment_request(),
    )


def test_payment_with_wrong_amount_type_fails():
    body = payment_request()
    body["Payments"][0]["Amount"] = "100.00"
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Payments", json=body)
    assert problems_of(excinfo) == {("request body", "$.Payments[0].Amount")}


def test_payment_response_with_unknown_field_fails():
    body = payment_response()
    body["Payments"][0]["Invoice"]["Bar"] = True
    with pytest.raises(ContractViolation) as excinfo:
        exchange("PUT", f"{EMULATOR}/Payments", json_response(200, body), json=payment_request())
    assert problems_of(excinfo) == {("response body", "$.Payments[0].Invoice.Bar")}


def test_delete_payment_accepts_both_documented_body_forms():
    url = f"{EMULATOR}/Payments/{PAYMENT_ID}"
    response = json_response(200, payment_response())
    exchange("POST", url, response, json={"Status": "DELETED"})
    exchange("POST", url, response, json={"Payments": [{"Status": "DELETED"}]})
    with pytest.raises(
        ContractViolation, match=r"Payments\[0\]\.Foo: matches none of the 2 allowed shapes"
    ):
        exchange("POST", url, response, json={"Payments": [{"Status": "DELETED", "Foo": 1}]})
    for bad in ({"Payments": [{"Status": 1}]}, {"Payments": []}, {"Payments": [{}]}):
        with pytest.raises(ContractViolation):
            exchange("POST", url, response, json=bad)


# ---------------------------------------------------------------------------------------------
# Settings and contacts
# ---------------------------------------------------------------------------------------------

ACCOUNTS = envelope(
    "Accounts",
    [
        {
            "AccountID": ACCOUNT_ID,
            "Code": "090",
            "Name": "Business Bank Account",
            "Type": "BANK",
            "TaxType": "NONE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "BankAccountNumber": "0209087654321050",
            "BankAccountType": "BANK",
            "CurrencyCode": "USD",
            "Status": "ACTIVE",
            "Class": "ASSET",
            "ReportingCode": "ASS",
            "ReportingCodeName": "Assets",
            "HasAttachments": False,
            "UpdatedDateUTC": MS_DATE,
            "AddToWatchlist": False,
        },
        {
            "AccountID": "c3c3f2a8-7b1a-4d8e-9b7a-0e5a4f3d2c1b",
            "Code": "400",
            "Name": "Advertising",
            "Type": "EXPENSE",
            "TaxType": "INPUT",
            "Description": "Expenses incurred for advertising",
            "Status": "ACTIVE",
            "Class": "EXPENSE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": True,
            "HasAttachments": False,
            "UpdatedDateUTC": MS_DATE,
        },
    ],
)
CONTACTS = envelope(
    "Contacts",
    [
        {
            "ContactID": CONTACT_ID,
            "ContactNumber": "V-100",
            "ContactStatus": "ACTIVE",
            "Name": "Office Supplies Ltd",
            "EmailAddress": "ap@office-supplies.example",
            "Addresses": [{"AddressType": "POBOX", "City": "", "PostalCode": "", "Country": ""}],
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": ""}],
            "UpdatedDateUTC": MS_DATE,
            "ContactGroups": [],
            "IsSupplier": True,
            "IsCustomer": False,
            "DefaultCurrency": "USD",
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
    ],
)
TRACKING = envelope(
    "TrackingCategories",
    [
        {
            "Name": "Department",
            "Status": "ACTIVE",
            "TrackingCategoryID": CATEGORY_ID,
            "Options": [
                {
                    "TrackingOptionID": OPTION_ID,
                    "Name": "Sales",
                    "Status": "ACTIVE",
                    "HasValidationErrors": False,
                    "IsDeleted": False,
                    "IsArchived": False,
                    "IsActive": True,
                }
            ],
        }
    ],
)


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [
        ("/Accounts", {"where": 'Status=="ACTIVE"'}, ACCOUNTS),
        ("/Contacts", {"where": "IsSupplier==true", "page": "1", "summaryOnly": "false"}, CONTACTS),
        ("/TrackingCategories", {"includeArchived": "false"}, TRACKING),
    ],
)
def test_settings_and_contacts_responses_pass(path, params, body):
    exchange("GET", f"{EMULATOR}{path}", json_response(200, body), params=params)


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/Accounts", ACCOUNTS, ("Accounts", 0, "Type")),
        ("/Contacts", CONTACTS, ("Contacts", 0, "IsSupplier")),
        ("/TrackingCategories", TRACKING, ("TrackingCategories", 0, "Options", 0, "Status")),
    ],
)
def test_settings_and_contacts_bad_values_fail(path, body, location):
    body = copy.deepcopy(body)
    target = body
    for key in location[:-1]:
        target = target[key]
    target[location[-1]] = "NOT-A-VALID-VALUE"
    with pytest.raises(ContractViolation) as excinfo:
        exchange("GET", f"{EMULATOR}{path}", json_response(200, body))
    assert {p.field for p in excinfo.value.problems} == {common.json_path(location)}


# ---------------------------------------------------------------------------------------------
# Identity: GET /connections
# ---------------------------------------------------------------------------------------------

CONNECTIONS = [
    {
        "id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
        "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
        "tenantId": TENANT,
        "tenantType": "ORGANISATION",
        "tenantName": "Demo Company (US)",
        "createdDateUtc": "2019-12-07T18:46:19.5165400",  # Xero sends no offset
        "updatedDateUtc": "2019-12-07T18:46:19.5187840",
    }
]
AUTH_ONLY = {"Authorization": "Bearer access-token"}


def test_connections_pass_with_either_path_case():
    for path in ("/connections", "/Connections"):
        exchange(
            "GET",
            f"http://127.0.0.1:8123{path}",
            json_response(200, CONNECTIONS),
            headers=AUTH_ONLY,
        )
    exchange(
        "DELETE", f"http://xero.emulator/connections/{CONNECTIONS[0]['id']}", headers=AUTH_ONLY
    )


def test_connections_unknown_field_and_bad_uuid_fail():
    body = [{**CONNECTIONS[0], "orgCode": "x", "tenantId": "not-a-uuid"}]
    with pytest.raises(ContractViolation) as excinfo:
        exchange("GET", "http://x/connections", json_response(200, body), headers=AUTH_ONLY)
    assert problems_of(excinfo) == {
        ("response body", "$[0].orgCode"),
        ("response body", "$[0].tenantId"),
    }


# ---------------------------------------------------------------------------------------------
# Attachments (raw bytes)
# ---------------------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
ATTACHMENTS = envelope(
    "Attachments",
    [
        {
            "AttachmentID": ATTACHMENT_ID,
            "FileName": "bill 42.pdf",
            "Url": f"https://api.xero.com/api.xro/2.0/Invoices/{INVOICE_ID}/Attachments/bill%2042.pdf",
            "MimeType": "application/pdf",
            "ContentLength": len(PDF),
            "IncludeOnline": False,
        }
    ],
)


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "application/pdf", "image/png"]
)
def test_attachment_upload_with_raw_bytes_passes(content_type):
    exchange(
        "PUT",
        f"{EMULATOR}/Invoices/{INVOICE_ID}/Attachments/bill%2042.pdf?IncludeOnline=false",
        json_response(200, ATTACHMENTS),
        headers={**HEADERS, "Content-Type": content_type},
        content=PDF,
    )


def test_attachment_upload_problems_fail():
    url = f"{EMULATOR}/Invoices/{INVOICE_ID}/Attachments/bill.pdf"
    with pytest.raises(ContractViolation, match="raw file bytes expected"):
        exchange("PUT", url, files={"file": ("bill.pdf", PDF, "application/pdf")})
    with pytest.raises(ContractViolation, match="request body: required by the spec, missing"):
        exchange("PUT", url, headers={**HEADERS, "Content-Type": "application/pdf"}, content=b"")
    with pytest.raises(ContractViolation) as excinfo:
        exchange(
            "PUT",
            f"{EMULATOR}/Invoices/42/Attachments/bill.pdf",
            headers={**HEADERS, "Content-Type": "application/pdf"},
            content=PDF,
        )
    assert ("request path", "InvoiceID") in problems_of(excinfo)


# ---------------------------------------------------------------------------------------------
# OAuth endpoints and the emulator's control API
# ---------------------------------------------------------------------------------------------

TOKEN = {
    "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.sig",
    "access_token": "eyJhbGciOiJSUzI1NiJ9.e30.sig2",
    "expires_in": 1800,
    "token_type": "Bearer",
    "refresh_token": "f4c6a8e2b0d1",
    "scope": "openid profile email accounting.transactions offline_access",
}
REFRESH_FORM = {"grant_type": "refresh_token", "refresh_token": "old-refresh"}
BASIC = {"Authorization": "Basic Y2xpZW50OnNlY3JldA=="}
TOKEN_URL = "http://127.0.0.1:8123/connect/token"


def test_token_response_shape():
    exchange("POST", TOKEN_URL, json_response(200, TOKEN), headers=BASIC, data=REFRESH_FORM)
    without_id_token = {k: v for k, v in TOKEN.items() if k != "id_token"}
    exchange(
        "POST", TOKEN_URL, json_response(200, without_id_token), headers=BASIC, data=REFRESH_FORM
    )
    error = json_response(400, {"error": "invalid_grant"})
    exchange("POST", TOKEN_URL, error, headers=BASIC, data=REFRESH_FORM)

    broken = {k: v for k, v in TOKEN.items() if k != "refresh_token"} | {"expires_in": "1800"}
    with pytest.raises(ContractViolation) as excinfo:
        exchange("POST", TOKEN_URL, json_response(200, broken), headers=BASIC, data=REFRESH_FORM)
    assert problems_of(excinfo) == {
        ("response 200", "$.refresh_token"),
        ("response 200", "$.expires_in"),
    }


def test_token_request_shape():
    with pytest.raises(ContractViolation) as excinfo:
        exchange("POST", TOKEN_URL, json_response(200, TOKEN), headers={}, json=REFRESH_FORM)
    assert "POST /connect/token (OAuth token endpoint)" in str(excinfo.value)
    assert problems_of(excinfo) == {
        ("request header", "Content-Type"),
        ("request body", "grant_type"),
        ("request", "client auth"),
    }


def test_authorize_page_and_emulator_control_api_are_skipped():
    for url in (
        "http://127.0.0.1:8123/identity/connect/authorize?response_type=code&client_id=x",
        "http://127.0.0.1:8123/_emulator/reset",
        "http://xero.emulator/_emulator/tenants/acme/invoices",
    ):
        exchange("POST", url, json_response(200, {"anything": True}), headers={}, json={"a": 1})


# ---------------------------------------------------------------------------------------------
# The transport itself
# ---------------------------------------------------------------------------------------------


def test_streamed_gzip_response_is_checked_and_still_readable():
    raw = gzip.compress(json.dumps(envelope("Invoices", [invoice_body()])).encode())

    def handler(request: httpx.Request) -> httpx.Response:
        # A not-yet-read stream, like a real network or WSGI transport returns.
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(raw))

    transport = ContractCheckingTransport(httpx.MockTransport(handler))
    with httpx.Client(transport=transport) as client:
        response = client.get(f"{EMULATOR}/Invoices/{INVOICE_ID}", headers=HEADERS)
    assert response.json()["Invoices"][0]["Total"] == 10.0
    assert transport.checked == 1


def test_violations_are_recorded_even_if_swallowed():
    body = accpay_request()
    body["Invoices"][0]["Foo"] = 1
    transport = ContractCheckingTransport(httpx.MockTransport(Recorder()))
    # Simulates adapter code that swallows every error (e.g. a broad retry wrapper).
    with httpx.Client(transport=transport) as client, contextlib.suppress(Exception):
        client.put(f"{EMULATOR}/Invoices", json=body, headers=HEADERS)
    assert len(transport.violations) == 1
    with pytest.raises(ContractViolation, match=r"1 violation\(s\)"):
        transport.assert_no_violations()


def test_record_only_mode_forwards_and_records():
    recorder = Recorder(json_response(200, {"Invoices": [], "Foo": 1}))
    transport = ContractCheckingTransport(httpx.MockTransport(recorder), raise_on_violation=False)
    with httpx.Client(transport=transport) as client:
        client.get(f"{EMULATOR}/Invoices", headers={})
    assert len(recorder.seen) == 1
    [violation] = transport.violations
    assert {p.field for p in violation.problems} == {"xero-tenant-id", "Authorization", "$.Foo"}


def test_fixture_helper_fails_at_teardown():
    gen = fixtures.checked_transport(httpx.MockTransport(Recorder()), raise_on_violation=False)
    transport = next(gen)
    with httpx.Client(transport=transport) as client:
        client.get(f"{EMULATOR}/Invoices", headers=HEADERS)  # no violation
        client.get(f"{EMULATOR}/Nope", headers=HEADERS)  # violation, not raised
    with pytest.raises(ContractViolation, match="/Nope"):
        next(gen)


def test_async_transport():
    async def run() -> None:
        handler = Recorder(json_response(200, envelope("Invoices", [invoice_body()])))
        transport = AsyncContractCheckingTransport(httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.put(
                f"{EMULATOR}/Invoices", json=accpay_request(), headers=HEADERS
            )
            assert response.status_code == 200
            with pytest.raises(ContractViolation):
                await client.put(
                    f"{EMULATOR}/Invoices", json={"Invoices": [{"Foo": 1}]}, headers=HEADERS
                )

    asyncio.run(run())


def test_validate_exchange_directly():
    request = httpx.Request("GET", f"{EMULATOR}/Accounts", headers=HEADERS)
    validate_exchange(request, json_response(200, ACCOUNTS))
    with pytest.raises(ContractViolation):
        validate_exchange(request, json_response(200, {"Accounts": {}}))


def test_checked_client_helper():
    handler = Recorder(json_response(200, ACCOUNTS))
    gen = fixtures.checked_client(httpx.MockTransport(handler), base_url=EMULATOR, headers=HEADERS)
    client = next(gen)
    assert client.get("/Accounts").json()["Accounts"][0]["Code"] == "090"
    with pytest.raises(StopIteration):
        next(gen)  # teardown: no violations recorded
