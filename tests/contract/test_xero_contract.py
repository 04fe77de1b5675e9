"""Proves the Xero contract harness accepts valid traffic and rejects each kind of mismatch.

Requests and responses are built by hand and sent through ContractCheckingTransport wrapping an
httpx.MockTransport, i.e. exactly the path adapter tests will use with the emulator.
"""

from __future__ import annotations

import copy
import time

import httpx
import jsonschema
import pytest

from integrations.specs.xero import (
    ContractCheckingTransport,
    ContractViolation,
    check_exchange,
)
from integrations.specs.xero import strict as xc
from tests.contract.xero_exchanges import (
    EMULATOR,
    HEADERS,
    INVOICE_ID,
    PAYMENT_ID,
    Recorder,
    accpay_request,
    envelope,
    exchange,
    invoice_body,
    json_response,
    payment_request,
    payment_response,
    problems_of,
    validation_exception,
)

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
