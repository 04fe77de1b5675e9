"""MYOB's contract check itself: what it lets through and what it refuses (an unknown field, a
POST with a RowVersion, a missing API key, an answer outside the schema)."""

import httpx

from integrations.specs.myob import check_exchange, check_json

BASE = "http://myob.emulator/accountright/3f9c8a52-0d5e-4c1b-9a77-5b2d7e1c4a01"
HEADERS = {"Authorization": "Bearer t", "x-myobapi-key": "k", "x-myobapi-version": "v2"}
UID = "04504d68-fdfb-5db3-83b1-25eae2ad33ed"
BILL = {
    "Date": "2026-11-01T00:00:00",
    "Supplier": {"UID": UID},
    "FreightTaxCode": {"UID": UID},
    "Lines": [
        {"Type": "Transaction", "Total": 10.0, "Account": {"UID": UID}, "TaxCode": {"UID": UID}}
    ],
}


def post(body, *, headers=HEADERS, path="Purchase/Bill/Service"):
    return httpx.Request("POST", f"{BASE}/{path}", json=body, headers=headers)


def test_a_valid_bill_passes():
    assert check_exchange(post(BILL)) == []


def test_an_unknown_field_fails():
    [problem] = check_exchange(post({**BILL, "Memo": "x"}))
    assert "Memo" in problem.reason


def test_an_unknown_field_in_a_line_fails():
    line = {**BILL["Lines"][0], "Quantity": 2}
    assert check_exchange(post({**BILL, "Lines": [line]}))


def test_a_post_with_a_rowversion_and_a_put_without_one_fail():
    assert any("409" in p.reason for p in check_exchange(post({**BILL, "RowVersion": "1"})))
    put = httpx.Request("PUT", f"{BASE}/Purchase/Bill/Service/{UID}", json=BILL, headers=HEADERS)
    assert {p.field for p in check_exchange(put)} == {"$.UID", "$.RowVersion"}


def test_headers_are_checked():
    problems = check_exchange(post(BILL, headers={"Authorization": "Bearer t"}))
    assert {p.field for p in problems} == {"header x-myobapi-key", "header x-myobapi-version"}


def test_an_unknown_endpoint_fails():
    assert check_exchange(post(BILL, path="Purchase/Bill/Item"))


def test_answers_are_checked():
    request = httpx.Request("GET", f"{BASE}/Contact/Supplier", headers=HEADERS)
    good = httpx.Response(200, json={"Items": [{"UID": UID, "CompanyName": "A"}], "Count": 1})
    assert check_exchange(request, good) == []
    bad = httpx.Response(200, json={"Items": [{"UID": UID, "Balance": 3}]})
    assert check_exchange(request, bad)
    error = httpx.Response(400, json={"Errors": [{"Name": "X", "Message": "m", "Severity": "Bad"}]})
    assert check_exchange(request, error)


def test_error_body_schema():
    body = {
        "Errors": [
            {
                "Name": "RateLimitError",
                "Message": "m",
                "AdditionalDetails": "Header: x-myobapi-key",
                "ErrorCode": None,
                "Severity": "Error",
                "LearnMore": None,
            }
        ],
        "Information": "i",
    }
    assert check_json(body, "errors") == []
