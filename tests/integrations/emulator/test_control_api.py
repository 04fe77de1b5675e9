"""The control API over HTTP (`/_emulator/...`), as benchmarks and the demo use it."""

import pytest


@pytest.fixture
def control(http):
    def call(method: str, path: str, json=None):
        return http.request(method, f"/_emulator{path}", json=json)

    return call


def test_health_and_state(control, api):
    api.create_bill()
    api.put(
        f"/Invoices/{api.emulator.invoices()[0]['InvoiceID']}/Attachments/a.txt",
        content=b"hi",
        headers={"Content-Type": "text/plain"},
    )

    assert control("GET", "/health").json() == {"status": "ok"}
    state = control("GET", "/state").json()
    [tenant] = state["tenants"]
    assert tenant["tenantName"] == "Demo Company (Emulated)"
    assert len(tenant["invoices"]) == 1
    assert tenant["attachments"][0]["FileName"] == "a.txt"
    assert state["calls"] == {api.tenant_id: 2}
    assert [r["method"] for r in state["requests"]] == ["PUT", "PUT"]


def test_the_request_log_alone_since_a_moment(control, api, clock):
    api.create_bill()
    clock.advance(5)
    api.get("/Invoices")
    api.get("/Invoices", params={"page": 1})

    everything = control("GET", "/requests").json()["requests"]
    later = control("GET", f"/requests?since={everything[1]['at']}").json()["requests"]

    assert [(r["method"], r["query"]) for r in everything] == [
        ("PUT", ""),
        ("GET", ""),
        ("GET", "page=1"),
    ]
    assert later == everything[1:]
    assert control("GET", "/requests?since=nonsense").json()["requests"] == everything


def test_reset_restores_the_seed_and_forgets_tokens(control, api):
    api.create_bill()

    assert control("POST", "/reset").json() == {"status": "reset"}

    assert api.emulator.invoices() == []
    assert api.get("/Invoices").status_code == 401
    token = control("POST", "/connect").json()
    assert token["access_token"] and token["refresh_token"]


def test_reset_can_keep_auth(control, api):
    control("POST", "/reset", {"keep_auth": True})

    assert api.get("/Invoices").status_code == 200


def test_add_tenant(control, emulator):
    response = control("POST", "/tenants", {"name": "Globex (Emulated)"})

    assert response.status_code == 201
    assert response.json()["tenantName"] == "Globex (Emulated)"
    assert len(emulator.state()["tenants"]) == 2
    assert control("POST", "/tenants", {}).status_code == 400


def test_faults_set_show_and_clear(control, api):
    set_ = control("POST", "/faults", {"fail_next": {"count": 1, "status": 500}, "latency_ms": 1})

    assert set_.json()["fail_next_count"] == 1 and set_.json()["fail_next_status"] == 500
    assert control("GET", "/faults").json()["latency_ms"] == 1
    assert control("DELETE", "/faults").json()["fail_next_count"] == 0
    assert api.get("/Accounts").status_code == 200
    assert control("POST", "/faults", {"error_rate": 5}).status_code == 400


def test_book_void_and_edit_behind_our_back(control, api):
    booked = api.create_bill(InvoiceNumber="BOOK")
    voided = api.create_bill(InvoiceNumber="VOID")
    edited = api.create_bill(InvoiceNumber="EDIT")

    paid = control("POST", f"/invoices/{booked['InvoiceID']}/book", {"date": "2026-11-25"})
    void = control("POST", f"/invoices/{voided['InvoiceID']}/void")
    drift = control(
        "POST",
        f"/invoices/{edited['InvoiceID']}/edit",
        {
            "DueDate": "2027-01-31",
            "LineItems": [
                {
                    "Description": "Changed in Xero",
                    "Quantity": 1,
                    "UnitAmount": 250,
                    "AccountCode": "469",
                }
            ],
        },
    )

    assert paid.json()["Status"] == "PAID" and paid.json()["AmountDue"] == 0.0
    assert void.json()["Status"] == "VOIDED"
    assert drift.status_code == 200
    fetched = api.get(f"/Invoices/{edited['InvoiceID']}").json()["Invoices"][0]
    assert fetched["DueDateString"] == "2027-01-31T00:00:00"
    assert fetched["Total"] == 250.0 and fetched["LineItems"][0]["AccountCode"] == "469"
    assert fetched["UpdatedDateUTC"] >= edited["UpdatedDateUTC"]


def test_edit_can_change_what_the_api_may_not(control, api):
    invoice = api.create_bill()
    api.emulator.book_invoice(invoice["InvoiceID"])

    response = control("POST", f"/invoices/{invoice['InvoiceID']}/edit", {"Reference": "note"})

    assert response.json()["Reference"] == "note"


def test_control_errors(control):
    assert control("POST", "/invoices/nope/book").status_code == 404
    assert control("POST", "/rate-limits", {"calls_per_window": 0}).status_code == 400
    assert control("GET", "/nothing-here").status_code == 404


def test_lock_date_and_rate_limits(control, api):
    api.create_bill(Date="2026-10-01", DueDate="2026-10-31", InvoiceNumber="OLD")

    assert control("POST", "/lock-date", {"date": "2026-10-31"}).status_code == 200
    assert control("POST", "/rate-limits", {"calls_per_window": 2}).json()["calls_per_window"] == 2

    old = api.emulator.invoices()[0]
    assert api.post(f"/Invoices/{old['InvoiceID']}", json={"Reference": "x"}).status_code == 400
    assert api.get("/Accounts").status_code == 429  # 3 calls so far against a limit of 2
    assert control("GET", "/rate-limits").json()["calls_per_window"] == 2


def test_tokens_expire_and_revoke(control, api):
    control("POST", "/tokens/expire")
    assert api.get("/Accounts").json()["Detail"].startswith("TokenExpired")

    form = {"grant_type": "refresh_token", "refresh_token": api.token["refresh_token"]}
    auth = ("ledgersync-dev", "ledgersync-dev-secret")
    assert api.http.post("/connect/token", data=form, auth=auth).status_code == 200

    control("POST", "/tokens/revoke")
    assert api.http.post("/connect/token", data=form, auth=auth).status_code == 400


def test_writes_log_when_each_write_was_applied(control, api, clock):
    created = api.create_bill(DueDate="2026-12-31")
    clock.advance(1.25)
    api.post(f"/Invoices/{created['InvoiceID']}", json={"DueDate": "2027-01-15"})
    clock.advance(0.5)
    api.pay(created["InvoiceID"], 10)
    api.get("/Invoices")  # a read writes nothing

    writes = control("GET", "/writes").json()["writes"]

    assert [(w["kind"], w["DueDate"]) for w in writes] == [
        ("invoice", "2026-12-31"),
        ("invoice", "2027-01-15"),
        ("payment", "2027-01-15"),
    ]
    assert [w["at"] for w in writes] == [1_795_000_000.0, 1_795_000_001.25, 1_795_000_001.75]
    assert {w["InvoiceID"] for w in writes} == {created["InvoiceID"]}
    assert writes[2]["Amount"] == "10.00" and writes[2]["AmountPaid"] == "10.00"
    later = control("GET", f"/writes?since=1795000001.5&tenant_id={api.tenant_id}").json()
    assert [w["kind"] for w in later["writes"]] == ["payment"]
    assert control("GET", "/writes?tenant_id=nope").status_code == 404
