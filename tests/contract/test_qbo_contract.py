"""The QBO contract harness: traffic is held to Intuit's XML Schemas (JSON keys are element and
attribute names; what the schema does not know fails). Hand-built exchanges through an
httpx.MockTransport prove each kind of mismatch is caught; a walk through the emulator proves its
answers and a well-formed client's requests pass."""

import json

import httpx
import pytest

from integrations.emulators.qbo import EmulatorConfig, EmulatorTransport, QboEmulator
from integrations.specs.qbo import (
    ContractCheckingTransport,
    ContractViolation,
    check_exchange,
    check_json,
)

BASE = "https://quickbooks.api.intuit.com/v3/company/9130"
TIME = "2026-11-24T09:17:31.892-08:00"


def bill(**fields) -> dict:
    return {
        "VendorRef": {"value": "56", "name": "Acme"},
        "TxnDate": "2026-11-01",
        "DueDate": "2026-12-01",
        "DocNumber": "VEND-42",
        "CurrencyRef": {"value": "USD"},
        "DepartmentRef": {"value": "1"},
        "PrivateNote": "AP id 123",
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": 100.0,
                "Description": "Widgets",
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": {"value": "7"},
                    "ClassRef": {"value": "2"},
                    "TaxCodeRef": {"value": "NON"},
                    "BillableStatus": "NotBillable",
                },
            }
        ],
        **fields,
    }


def problems_of(body, type_name="Bill", where="request") -> list[str]:
    return [f"{p.field}: {p.reason}" for p in check_json(body, type_name, where=where)]


def test_a_bill_as_intuit_documents_it_passes():
    assert problems_of(bill()) == []
    answer = {
        "Bill": {
            **bill(),
            "Id": "146",
            "SyncToken": "0",
            "TotalAmt": 100,
            "Balance": 100,
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": TIME, "LastUpdatedTime": TIME},
            "LinkedTxn": [{"TxnId": "150", "TxnType": "BillPaymentCheck"}],
        },
        "time": TIME,
    }
    assert problems_of(answer, "IntuitResponse", "response") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (bill(InvoiceNumber="X"), "$.InvoiceNumber: Bill has no element 'InvoiceNumber'"),
        (
            bill(Line=[{**bill()["Line"][0], "AccountCode": "400"}]),
            "$.Line[0].AccountCode: Line has no element 'AccountCode'",
        ),
        (
            bill(VendorRef={"value": "56", "id": "56"}),
            "$.VendorRef.id: ReferenceType has no element 'id'",
        ),
        (
            bill(GlobalTaxCalculation="Excluded"),
            "$.GlobalTaxCalculation: 'Excluded' is not a valid GlobalTaxCalculationEnum",
        ),
        (
            bill(Line=[{**bill()["Line"][0], "Amount": "ten"}]),
            "$.Line[0].Amount: 'ten' is not a valid decimal",
        ),
        (bill(TxnDate="01/11/2026"), "$.TxnDate: '01/11/2026' is not a valid date"),
        (
            bill(VendorRef=[{"value": "56"}]),
            "$.VendorRef: an array where the schema allows one element",
        ),
        (bill(Line=bill()["Line"][0]), "$.Line: a repeated element must be an array"),
        (bill(PrivateNote=None), "$.PrivateNote: null is not a value in QBO's JSON"),
        (bill(sparse="yes"), "$.sparse: 'yes' is not a valid boolean"),
    ],
)
def test_each_kind_of_mismatch_is_caught(body, expected):
    assert expected in problems_of(body)


def test_faults_need_their_code_and_batch_items_are_checked():
    fault = {
        "Fault": {
            "Error": [{"Message": "Stale Object Error", "Detail": "x"}],
            "type": "ValidationFault",
        },
        "time": TIME,
    }
    assert problems_of(fault, "IntuitResponse", "response") == [
        "$.Fault.Error[0].code: required attribute missing"
    ]
    batch = {
        "BatchItemRequest": [
            {"bId": "1", "operation": "create", "Bill": bill(Foo=1)},
            {"bId": "2", "operation": "upsert", "Query": "select * from Bill"},
        ]
    }
    problems = problems_of(batch, "IntuitBatchRequest")
    assert "$.BatchItemRequest[0].Bill.Foo: Bill has no element 'Foo'" in problems
    assert any(p.startswith("$.BatchItemRequest[1].operation") for p in problems)


def mock(answer, status=200, content_type="application/json"):
    def handler(request):
        content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": content_type})

    return httpx.MockTransport(handler)


def test_the_transport_checks_requests_by_path_and_every_v3_answer():
    good = {"Bill": {"Id": "1", "SyncToken": "0"}, "time": TIME}
    transport = ContractCheckingTransport(mock(good))
    with httpx.Client(transport=transport) as client:
        assert (
            client.post(f"{BASE}/bill", params={"minorversion": "75"}, json=bill()).status_code
            == 200
        )
        client.post(f"{BASE}/query", content=b"select * from Bill")  # the body is the query text
        client.post("https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", data={"a": "b"})
        with pytest.raises(ContractViolation) as raised:
            client.post(
                f"{BASE}/billpayment", json={"VendorRef": {"value": "1"}, "PayType": "Cash"}
            )
    assert "PayType" in str(raised.value)
    bad_answer = ContractCheckingTransport(
        mock({"Bill": {"Id": "1", "Nickname": "x"}}), raise_on_violation=False
    )
    with httpx.Client(transport=bad_answer) as client:
        client.get(f"{BASE}/bill/1")
    assert [str(p) for v in bad_answer.violations for p in v.problems] == [
        "response $.Bill.Nickname: Bill has no element 'Nickname'"
    ]
    with pytest.raises(AssertionError):
        bad_answer.assert_no_violations()
    html = ContractCheckingTransport(mock(b"<html>", 503, "text/html"), raise_on_violation=False)
    with httpx.Client(transport=html) as client:
        client.get(f"{BASE}/preferences")
    assert html.violations[0].problems[0].reason.startswith("not JSON")


def test_upload_metadata_is_an_attachable():
    request = httpx.Request(
        "POST",
        f"{BASE}/upload",
        files={
            "file_metadata_0": (
                "m.json",
                json.dumps({"FileName": "a.pdf", "Colour": "red"}),
                "application/json",
            ),
            "file_content_0": ("a.pdf", b"%PDF", "application/pdf"),
        },
    )
    request.read()
    assert [str(p) for p in check_exchange(request)] == [
        "request file_metadata_0.Colour: Attachable has no element 'Colour'"
    ]
    assert [str(p) for p in check_exchange(httpx.Request("POST", f"{BASE}/widget", json={}))] == [
        "request $: no entity is called 'widget' in the schema"
    ]


def test_a_walk_through_the_emulator_holds_to_the_schemas_both_ways():
    emulator = QboEmulator(EmulatorConfig(calls_per_second=1000))
    token = emulator.connect()
    transport = ContractCheckingTransport(EmulatorTransport(emulator))  # raises on any violation
    base = f"/v3/company/{token['realmId']}"
    with httpx.Client(
        transport=transport,
        base_url="http://qbo.emulator",
        params={"minorversion": "75"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ) as client:
        vendor = client.post(f"{base}/vendor", json={"DisplayName": "Acme Paper"}).json()["Vendor"]
        accounts = client.get(f"{base}/query", params={"query": "select * from Account"}).json()
        by_name = {a["Name"]: a["Id"] for a in accounts["QueryResponse"]["Account"]}
        body = bill(VendorRef={"value": vendor["Id"]}, DepartmentRef={"value": "27"})
        body["Line"][0]["AccountBasedExpenseLineDetail"] = {
            "AccountRef": {"value": by_name["Travel"]}
        }
        created = client.post(f"{base}/bill", params={"requestid": "r-1"}, json=body).json()["Bill"]
        client.post(
            f"{base}/bill",
            json={"Id": created["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-12-24"},
        )
        client.post(
            f"{base}/bill", json={"Id": created["Id"], "SyncToken": "0", "sparse": True}
        )  # 5010
        client.post(
            f"{base}/billpayment",
            json={
                "VendorRef": {"value": vendor["Id"]},
                "PayType": "Check",
                "TotalAmt": 100.0,
                "CheckPayment": {"BankAccountRef": {"value": by_name["Checking"]}},
                "Line": [
                    {"Amount": 100.0, "LinkedTxn": [{"TxnId": created["Id"], "TxnType": "Bill"}]}
                ],
            },
        )
        client.get(f"{base}/bill/{created['Id']}")
        client.post(
            f"{base}/batch",
            json={
                "BatchItemRequest": [
                    {"bId": "1", "operation": "create", "Bill": {**body, "DocNumber": "B-2"}},
                    {"bId": "2", "operation": "create", "Bill": {**body, "DocNumber": "B-2"}},
                    {
                        "bId": "3",
                        "Query": "select * from Bill where DocNumber in ('B-2', 'VEND-42')",
                    },
                ]
            },
        )
        client.post(
            f"{base}/upload",
            files={
                "file_metadata_0": (
                    "m.json",
                    json.dumps(
                        {
                            "AttachableRef": [
                                {"EntityRef": {"type": "Bill", "value": created["Id"]}}
                            ],
                            "FileName": "a.pdf",
                            "ContentType": "application/pdf",
                        }
                    ),
                    "application/json",
                ),
                "file_content_0": ("a.pdf", b"%PDF", "application/pdf"),
            },
        )
        client.get(f"{base}/preferences")
        client.get(f"{base}/bill/999")
        client.get(f"{base}/query", params={"query": "select * from"})
    assert transport.checked == 12 and transport.violations == []
