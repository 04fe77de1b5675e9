"""Xero's contract check on the settings lists, connections, attachments, the OAuth endpoints,
and the checking transports themselves (record-only mode, async, gzip, the fixtures' helpers).

Requests and responses are built by hand (tests/contract/xero_exchanges.py) and sent through
ContractCheckingTransport wrapping an httpx.MockTransport.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gzip
import json

import httpx
import pytest

from integrations.specs import contract as common
from integrations.specs.xero import (
    AsyncContractCheckingTransport,
    ContractCheckingTransport,
    ContractViolation,
    validate_exchange,
)
from tests.contract import fixtures
from tests.contract.xero_exchanges import (
    ACCOUNT_ID,
    ATTACHMENT_ID,
    CATEGORY_ID,
    CONTACT_ID,
    EMULATOR,
    HEADERS,
    INVOICE_ID,
    MS_DATE,
    OPTION_ID,
    TENANT,
    Recorder,
    accpay_request,
    envelope,
    exchange,
    invoice_body,
    json_response,
    problems_of,
)

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
