"""Rate limits: rolling window, daily cap, per tenant, headers, Retry-After; concurrency over a
real threaded server."""

import threading

import httpx
import pytest

from integrations.emulators.xero import EmulatorConfig, running_emulator

from .conftest import API


@pytest.fixture
def config():
    return EmulatorConfig(calls_per_window=3, window_seconds=2, calls_per_day=5)


def test_every_response_carries_the_remaining_counts(api):
    remaining = [api.get("/Accounts").headers["X-MinLimit-Remaining"] for _ in range(3)]

    assert remaining == ["2", "1", "0"]
    response = api.get("/Accounts")
    assert response.headers["X-DayLimit-Remaining"] == "2"
    assert response.headers["X-AppMinLimit-Remaining"] == "9997"


def test_rolling_window_answers_429_with_retry_after(api, clock):
    for _ in range(3):
        assert api.get("/Accounts").status_code == 200
        clock.advance(0.25)

    refused = api.get("/Accounts")

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    # The first call (at t=0) leaves the 2 s window at t=2; now is t=0.75 -> 1.25 s -> 2.
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    clock.advance(1.25)
    assert api.get("/Accounts").status_code == 200
    assert api.get("/Accounts").status_code == 429  # the next two calls are still in the window
    state = api.emulator.state()["tenants"][0]
    assert (state["calls"], state["refusedCalls"]) == (4, 2)


def test_daily_limit(api, clock):
    for _ in range(5):
        assert api.get("/Accounts").status_code == 200
        clock.advance(1)  # spread out: the minute window never fills

    refused = api.get("/Accounts")

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert int(refused.headers["Retry-After"]) == 24 * 3600 - 5


def test_limits_are_per_tenant_and_skip_the_token_endpoint(api, clock):
    for _ in range(3):
        api.get("/Accounts")
    other = api.emulator.add_tenant("Second Org")
    api.token = api.emulator.connect()

    assert api.get("/Accounts").status_code == 429
    assert api.get("/Accounts", headers={"xero-tenant-id": other["tenantId"]}).status_code == 200
    form = {"grant_type": "refresh_token", "refresh_token": api.token["refresh_token"]}
    token = api.http.post(
        "/connect/token", data=form, auth=("ledgersync-dev", "ledgersync-dev-secret")
    )
    assert token.status_code == 200


def test_limits_can_be_changed_at_run_time(api):
    api.emulator.set_rate_limits(calls_per_window=1)

    assert api.get("/Accounts").status_code == 200
    assert api.get("/Accounts").status_code == 429
    with pytest.raises(ValueError):
        api.emulator.set_rate_limits(calls_per_minute=5)


def test_concurrent_limit_over_a_real_server():
    config = EmulatorConfig(max_concurrent=2)
    with running_emulator(config=config) as (url, emulator):
        token = emulator.connect()
        emulator.set_faults(latency_ms=500)
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": emulator.default_tenant_id,
        }
        start = threading.Barrier(5)
        responses = []

        def call():
            start.wait()
            responses.append(httpx.get(f"{url}{API}/Accounts", headers=headers, timeout=5))

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429]
    refused = [r for r in responses if r.status_code == 429]
    assert {r.headers["X-Rate-Limit-Problem"] for r in refused} == {"concurrent"}
    assert {r.headers["Retry-After"] for r in refused} == {"1"}
