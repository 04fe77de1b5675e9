"""The MYOB emulator on its own: MYOB's headers, OAuth with a company file choice, RowVersion,
OData, error shapes, the key's limits shared by every company file, locked periods, edits
behind our back and the control API. Every answer is held to MYOB's JSON Schemas."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.management import CommandError, call_command

from integrations.emulators.myob import (
    EmulatorConfig,
    EmulatorServer,
    EmulatorTransport,
    MyobEmulator,
)
from integrations.emulators.myob.company import MyobError
from integrations.specs.myob import ContractCheckingTransport
from tests.integrations.myob_emulator.conftest import KEY, ROOT, api_headers

BILLS = "Purchase/Bill/Service"


def path(token, rest: str) -> str:
    return f"/accountright/{token['businessId']}/{rest}"


def new_bill(seeded, **fields) -> dict:
    return {
        "Date": "2026-11-01T00:00:00",
        "SupplierInvoiceNumber": "INV-1",
        "Supplier": {"UID": seeded.supplier("Acme Supplies")},
        "IsTaxInclusive": False,
        "FreightTaxCode": {"UID": seeded.tax("N-T")},
        "Lines": [
            {
                "Type": "Transaction",
                "Description": "Paper",
                "Total": 100.0,
                "Account": {"UID": seeded.account("6-1100")},
                "TaxCode": {"UID": seeded.tax("GST")},
            }
        ],
        **fields,
    }


def create(http, token, seeded, **fields) -> dict:
    response = http.post(
        path(token, BILLS),
        params={"returnBody": "true"},
        json=new_bill(seeded, **fields),
        headers=api_headers(token),
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(response.json()["UID"])
    return response.json()


def test_headers_are_required(http, token, bad_requests):
    headers = api_headers(token)
    no_key = {k: v for k, v in headers.items() if k != "x-myobapi-key"}
    answer = http.get(path(token, "Company"), headers=no_key)
    assert answer.status_code == 403 and answer.json()["Errors"][0]["Name"] == "DeveloperInactive"
    answer = http.get(path(token, "Company"), headers={**headers, "Authorization": "Bearer x"})
    assert answer.status_code == 401
    assert answer.json()["Errors"][0]["Name"] == "OAuthTokenIsInvalid"


def test_a_token_reaches_only_its_company_file(http, emulator, token):
    other = emulator.add_company_file("Harbour Bikes (Emulated)")
    answer = http.get(f"/accountright/{other['businessId']}/Company", headers=api_headers(token))
    assert answer.status_code == 403
    mine = http.get(path(token, "Company"), headers=api_headers(token))
    assert mine.json()["CompanyName"] == "Clearwater Workshop (Emulated)"


def test_consent_cancel_and_code_reuse(http, emulator):
    params = {
        "client_id": KEY,
        "redirect_uri": "http://ap.example/cb",
        "response_type": "code",
        "scope": "sme-company-file",
        "state": "s",
        "prompt": "consent",
    }
    cancel = http.post("/oauth2/account/authorize", data={**params, "action": "cancel"})
    assert parse_qs(urlsplit(cancel.headers["location"]).query)["error"] == ["access_denied"]
    allow = http.post("/oauth2/account/authorize", data={**params, "action": "allow"})
    code = parse_qs(urlsplit(allow.headers["location"]).query)["code"][0]
    form = {
        "client_id": KEY,
        "client_secret": EmulatorConfig.client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://ap.example/cb",
    }
    assert http.post("/oauth2/v1/authorize", data=form).status_code == 200
    again = http.post("/oauth2/v1/authorize", data=form)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    wrong = http.post("/oauth2/v1/authorize", data={**form, "client_secret": "nope"})
    assert wrong.status_code == 401


def test_refresh_rotates(http, token):
    form = {
        "client_id": KEY,
        "client_secret": EmulatorConfig.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
    }
    fresh = http.post("/oauth2/v1/authorize", data=form)
    assert fresh.status_code == 200 and fresh.json()["refresh_token"] != token["refresh_token"]
    assert http.post("/oauth2/v1/authorize", data=form).status_code == 400  # spent


def test_post_with_a_rowversion_and_a_stale_put_are_409(http, token, seeded, bad_requests):
    created = create(http, token, seeded)
    assert created["Status"] == "Open" and created["TotalAmount"] == 110.0
    refused = http.post(
        path(token, BILLS),
        json=new_bill(seeded, RowVersion="1"),
        headers=api_headers(token),
    )
    assert refused.status_code == 409
    put = {**new_bill(seeded), "UID": created["UID"], "RowVersion": created["RowVersion"]}
    first = http.put(path(token, f"{BILLS}/{created['UID']}"), json=put, headers=api_headers(token))
    assert first.status_code == 200 and first.content == b""  # no returnBody: Location only
    stale = http.put(path(token, f"{BILLS}/{created['UID']}"), json=put, headers=api_headers(token))
    assert stale.status_code == 409
    assert stale.json()["Errors"][0]["Name"] == "IncorrectRowVersion"


def test_odata_filter_and_pages(http, token, seeded):
    for number in ("A-1", "A-2", "B-1"):
        create(http, token, seeded, SupplierInvoiceNumber=number)
    found = http.get(
        path(token, BILLS),
        params={"$filter": "startswith(SupplierInvoiceNumber, 'A-') or Number eq 'zzz'"},
        headers=api_headers(token),
    ).json()
    assert sorted(b["SupplierInvoiceNumber"] for b in found["Items"]) == ["A-1", "A-2"]
    page = http.get(path(token, BILLS), params={"$top": "2"}, headers=api_headers(token)).json()
    assert len(page["Items"]) == 2 and page["Count"] == 3 and page["NextPageLink"]
    rest = http.get(page["NextPageLink"], headers=api_headers(token)).json()
    assert len(rest["Items"]) == 1 and rest["NextPageLink"] is None
    bad = http.get(path(token, BILLS), params={"$filter": "Number ~ 1"}, headers=api_headers(token))
    assert bad.status_code == 400


def test_per_second_limit_belongs_to_the_key_across_company_files(clock):
    emulator = MyobEmulator(EmulatorConfig(), clock=clock)  # MYOB's 8 a second
    second = emulator.add_company_file("Harbour Bikes (Emulated)")
    tokens = [emulator.connect(), emulator.connect(second["businessId"])]
    transport = ContractCheckingTransport(EmulatorTransport(emulator))
    with httpx.Client(transport=transport, base_url=ROOT) as http:
        statuses = [
            http.get(path(tokens[i % 2], "Company"), headers=api_headers(tokens[i % 2])).status_code
            for i in range(9)
        ]
        assert statuses == [200] * 8 + [429]
        refused = http.get(path(tokens[1], "Company"), headers=api_headers(tokens[1]))
        assert refused.json()["Errors"][0]["Message"].endswith("per-second rate limit")
        clock.advance(1.0)
        assert http.get(path(tokens[1], "Company"), headers=api_headers(tokens[1])).is_success
    usage = emulator.limits()
    assert usage["calls_today"][KEY] == 9  # refused calls are not counted


def test_daily_limit_is_403(http, emulator, token):
    emulator.set_limits(calls_per_day=1)
    assert http.get(path(token, "Company"), headers=api_headers(token)).status_code == 200
    refused = http.get(path(token, "Company"), headers=api_headers(token))
    assert refused.status_code == 403
    assert refused.json()["Errors"][0]["Message"] == "API key has exceeded the daily rate limit"


def test_locked_period_reversal_preference_and_paid_bills(http, emulator, token, seeded):
    created = create(http, token, seeded)
    emulator.set_lock_date(date="2026-11-15")
    late = http.post(
        path(token, BILLS),
        json=new_bill(seeded, Date="2026-11-10T00:00:00"),
        headers=api_headers(token),
    )
    assert late.json()["Errors"][0]["Name"] == "BusinessEvent_DateOccured_InLockPeriod"
    emulator.set_lock_date(date=None)
    emulator.set_must_reverse(True)
    refused = http.delete(path(token, f"{BILLS}/{created['UID']}"), headers=api_headers(token))
    assert refused.json()["Errors"][0]["ErrorCode"] == 25003
    emulator.set_must_reverse(False)
    emulator.pay(created["UID"], "2026-11-20")
    paid = http.get(path(token, f"{BILLS}/{created['UID']}"), headers=api_headers(token)).json()
    assert paid["Status"] == "Closed" and paid["BalanceDueAmount"] == 0
    refused = http.delete(path(token, f"{BILLS}/{created['UID']}"), headers=api_headers(token))
    assert refused.json()["Errors"][0]["Name"] == "TransactionHasPayments"


def test_edit_behind_our_back_gives_a_new_rowversion(http, emulator, token, seeded):
    created = create(http, token, seeded)
    edited = emulator.edit(created["UID"], {"Comment": "typed in MYOB"})
    assert edited["RowVersion"] != created["RowVersion"]
    assert [w["action"] for w in emulator.writes()] == ["create", "edit"]


def test_control_api_over_http_and_reset():
    with EmulatorServer.running() as (url, emulator):
        assert httpx.get(f"{url}/_emulator/health").json() == {"status": "ok"}
        added = httpx.post(f"{url}/_emulator/company-files", json={"name": "Second"}).json()
        token = httpx.post(
            f"{url}/_emulator/connect", json={"business_id": added["businessId"]}
        ).json()
        assert token["businessName"] == "Second"
        assert httpx.post(f"{url}/_emulator/faults", json={"burst_429": 1}).json()["burst_429"] == 1
        answer = httpx.get(
            f"{url}/accountright/{token['businessId']}/Company", headers=api_headers(token)
        )
        assert answer.status_code == 429
        limits = httpx.post(f"{url}/_emulator/limits", json={"calls_per_second": 3}).json()
        assert limits["calls_per_second"] == 3
        assert httpx.post(f"{url}/_emulator/reset").json() == {"status": "reset"}
        assert len(httpx.get(f"{url}/_emulator/state").json()["companyFiles"]) == 1
        assert httpx.post(f"{url}/_emulator/limits", json={"nope": 1}).status_code == 400


def test_run_myob_emulator_refuses_a_remote_host():
    with pytest.raises(CommandError, match="non-loopback"):
        call_command("run_myob_emulator", host="0.0.0.0", port=0)


def test_someone_in_myob_cannot_delete_a_bill_with_payments_applied(http, emulator, token, seeded):
    """As in AccountRight itself ("If a purchase has a payment applied to it, you must first
    delete the payment": NOTES.md): the bill and its payment stay until the payment goes."""
    created = create(http, token, seeded)
    payment = emulator.pay(created["UID"], "2026-11-20")

    refused = http.post(f"/_emulator/records/{created['UID']}/delete")
    assert refused.status_code == 400
    [error] = refused.json()["Errors"]
    assert (error["Name"], error["ErrorCode"]) == ("TransactionHasPayments", 25112)
    assert "delete the payments first" in error["Message"]
    with pytest.raises(MyobError) as in_process:
        emulator.delete(created["UID"])
    assert in_process.value.name == "TransactionHasPayments"
    bill = emulator.record(created["UID"])
    assert (bill["Status"], bill["BalanceDueAmount"]) == ("Closed", 0)
    assert emulator.record(payment["UID"])["Lines"][0]["Purchase"]["UID"] == created["UID"]
    assert [w["action"] for w in emulator.writes()] == ["create", "create"]  # bill, payment

    # The payment deleted first, the bill owes its amount again and may go.
    assert http.post(f"/_emulator/records/{payment['UID']}/delete").json() == {"status": "deleted"}
    assert emulator.record(created["UID"])["Status"] == "Open"
    assert http.post(f"/_emulator/records/{created['UID']}/delete").status_code == 200
    assert emulator.records(BILLS) == []
