"""Intuit's throttles (429), injected faults, lost answers, and edits behind our back."""

import httpx
import pytest

from integrations.emulators.qbo import EmulatorConfig

from .conftest import fault


@pytest.fixture
def config():
    return EmulatorConfig()  # Intuit's own figures: 500/min, 10/s, 40 batches/min


def test_ten_requests_a_second_per_realm_and_app(api, clock):
    for _ in range(10):
        assert api.get("/preferences").status_code == 200
    refused = api.get("/preferences")
    code, message, _ = fault(refused, 429)
    assert code == "3001" and "ThrottleExceeded" in message
    clock.advance(1)
    assert api.get("/preferences").status_code == 200
    assert api.emulator.state()["realms"][0]["refusedCalls"] == 1


def test_500_a_minute_and_40_batches_a_minute(api, clock):
    api.emulator.set_throttles(calls_per_second=10_000)
    batch = {"BatchItemRequest": [{"bId": "q", "Query": "select count(*) from Bill"}]}
    for _ in range(40):
        assert api.post("/batch", json=batch).status_code == 200
    assert fault(api.post("/batch", json=batch), 429)[0] == "3001"
    for _ in range(460):  # batches count toward the 500 too
        assert api.get("/preferences").status_code == 200
    assert api.get("/preferences").status_code == 429
    clock.advance(60)
    assert api.post("/batch", json=batch).status_code == 200


def test_injected_server_errors_and_429(api):
    api.emulator.set_faults(fail_next={"count": 2, "status": 503}, burst_429=1)
    assert fault(api.get("/preferences"), 429)[0] == "3001"
    first = api.get("/preferences")
    assert first.status_code == 503 and first.json()["Fault"]["type"] == "SystemFault"
    assert api.get("/preferences").status_code == 503
    assert api.get("/preferences").status_code == 200
    with pytest.raises(ValueError):
        api.emulator.set_faults(error_rate=2)


def test_a_timeout_applies_nothing_and_a_dropped_answer_applies_the_write(api):
    api.emulator.set_faults(timeout_rate=1.0)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/bill", json=api.bill())
    api.emulator.clear_faults()
    assert api.query("select count(*) from Bill") == {"totalCount": 0}

    api.emulator.set_faults(drop_response_next=1)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/bill", params={"requestid": "lost"}, json=api.bill())
    assert api.query("select count(*) from Bill") == {"totalCount": 1}
    # The retry with the same requestid gets the answer that was lost, not a second bill.
    retry = api.post("/bill", params={"requestid": "lost"}, json=api.bill())
    assert retry.status_code == 200
    assert api.query("select count(*) from Bill") == {"totalCount": 1}


def test_edits_behind_our_back(api):
    bill = api.create_bill()
    edited = api.emulator.edit_entity("Bill", bill["Id"], {"DueDate": "2027-01-15"})
    assert edited["SyncToken"] == "1"
    ours = {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "ours"}
    assert fault(api.post("/bill", json=ours))[0] == "5010"
    payment = api.emulator.pay_bill(bill["Id"], "2026-11-25")
    assert payment["TotalAmt"] == 100.0
    assert api.get(f"/bill/{bill['Id']}").json()["Bill"]["Balance"] == 0.0
    vendor = api.ref("Vendor", "City Power & Light")
    api.emulator.set_active("Vendor", vendor["value"], False)
    assert fault(api.post("/bill", json=api.bill(VendorRef=vendor, DocNumber="Q")))[0] == "610"
    api.emulator.delete_entity("Bill", bill["Id"])
    assert fault(api.get(f"/bill/{bill['Id']}"))[0] == "610"


def test_latency_delays_every_call(api):
    import time

    api.emulator.set_faults(latency_ms=60)
    started = time.monotonic()
    assert api.get("/preferences").status_code == 200
    assert time.monotonic() - started >= 0.06
