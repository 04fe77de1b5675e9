"""Injected faults: failures, rate-limit bursts, latency, timeouts and lost responses."""

import time

import httpx
import pytest

from .conftest import bill


def test_fail_next_answers_the_status_then_recovers(api):
    api.emulator.set_faults(fail_next={"count": 2, "status": 503})

    statuses = [api.get("/Accounts").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert api.emulator.call_count() == 1  # injected failures are not counted


def test_fail_next_500_has_a_problem_body(api):
    api.emulator.set_faults(fail_next={"count": 1, "status": 500})

    response = api.put("/Invoices", json=bill())

    assert response.status_code == 500
    assert response.json()["Status"] == 500
    assert api.emulator.invoices() == []


def test_error_rate_one_fails_every_call(api):
    api.emulator.set_faults(error_rate=1)

    assert {api.get("/Accounts").status_code for _ in range(10)} <= {500, 503}
    api.emulator.clear_faults()
    assert api.get("/Accounts").status_code == 200


def test_burst_429(api):
    api.emulator.set_faults(burst_429=2)

    first, second, third = (api.get("/Accounts") for _ in range(3))

    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.headers["X-Rate-Limit-Problem"] == "minute"
    assert third.status_code == 200


def test_latency(api):
    api.emulator.set_faults(latency_ms=80)

    started = time.monotonic()
    api.get("/Accounts")

    assert time.monotonic() - started >= 0.08


def test_timeout_raises_read_timeout_and_applies_nothing(api):
    api.emulator.set_faults(timeout_rate=1)

    with pytest.raises(httpx.ReadTimeout):
        api.put("/Invoices", json=bill())

    api.emulator.clear_faults()
    assert api.emulator.invoices() == []
    assert api.emulator.state()["requests"][-1]["timedOut"] is True


def test_dropped_response_applies_the_write_then_times_out(api):
    api.emulator.set_faults(drop_response_next=1)
    headers = {"Idempotency-Key": "doc-7-create"}

    with pytest.raises(httpx.ReadTimeout):
        api.put("/Invoices", json=bill(), headers=headers)

    [saved] = api.emulator.invoices()
    # The retry of an unknown outcome with the same key gets the original answer.
    retry = api.put("/Invoices", json=bill(), headers=headers)
    assert retry.json()["Invoices"][0]["InvoiceID"] == saved["InvoiceID"]
    assert len(api.emulator.invoices()) == 1
    assert api.emulator.state()["requests"][0]["responseDropped"] is True


def test_faults_also_hit_connections(api):
    api.emulator.set_faults(fail_next={"count": 1, "status": 503})
    auth = {"Authorization": f"Bearer {api.token['access_token']}"}

    assert api.http.get("/connections", headers=auth).status_code == 503
    assert api.http.get("/connections", headers=auth).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [{"error_rate": 2}, {"latency_ms": -1}, {"fail_next": {"status": 200}}, {"bogus": 1}],
)
def test_bad_fault_settings_are_refused_whole(api, settings):
    api.emulator.set_faults(latency_ms=5)

    with pytest.raises((ValueError, TypeError)):
        api.emulator.set_faults(**settings)

    assert api.emulator.fault_settings()["latency_ms"] == 5
