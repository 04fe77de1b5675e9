"""The control API over HTTP, and the emulator served on a loopback port."""

import subprocess
import sys
import time

import httpx

from integrations.emulators.qbo import running_emulator


def test_control_api(http, api):
    def control(method, path, json=None):
        return http.request(method, f"/_emulator{path}", json=json)

    bill = api.create_bill()
    assert control("GET", "/health").json() == {"status": "ok"}
    state = control("GET", "/state").json()
    [realm] = state["realms"]
    assert realm["companyName"] == "Sandbox Company (Emulated)"
    assert [b["Id"] for b in realm["entities"]["Bill"]] == [bill["Id"]]
    assert state["requests"][-1]["minorversion"] == "75"
    assert control("GET", "/writes").json()["writes"][0]["operation"] == "create"

    edited = control("POST", f"/entities/Bill/{bill['Id']}/edit", {"PrivateNote": "changed"})
    assert edited.json()["SyncToken"] == "1"
    assert control("GET", f"/entities/Bill/{bill['Id']}").json()["PrivateNote"] == "changed"
    assert control("POST", f"/bills/{bill['Id']}/pay", {}).json()["TotalAmt"] == 100.0
    assert control("POST", "/book-close-date", {"date": "2026-10-31"}).status_code == 200
    assert control("POST", "/faults", {"latency_ms": 1}).json()["latency_ms"] == 1
    assert control("DELETE", "/faults").json()["latency_ms"] == 0
    assert control("POST", "/throttles", {"calls_per_minute": 0}).status_code == 400
    assert (
        control("POST", "/throttles", {"calls_per_minute": 600}).json()["calls_per_minute"] == 600
    )
    assert control("GET", "/entities/Bill/999").status_code == 404
    globex = control("POST", "/realms", {"name": "Globex"}).json()
    token = control("POST", "/connect", {"realm_id": globex["realmId"]}).json()
    assert token["realmId"] == globex["realmId"] and token["access_token"]

    assert control("POST", "/tokens/expire").status_code == 200
    assert api.get("/preferences").status_code == 401
    assert control("POST", "/reset").json() == {"status": "reset"}
    assert http.get("/_emulator/state").json()["realms"][0]["entities"]["Bill"] == []


def test_served_on_a_free_loopback_port():
    with running_emulator() as (url, emulator):
        assert url.startswith("http://127.0.0.1:")
        token = httpx.post(f"{url}/_emulator/connect", json={}).json()
        answer = httpx.get(
            f"{url}/v3/company/{token['realmId']}/query",
            params={"query": "select * from Vendor MAXRESULTS 2", "minorversion": "75"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert [v["DisplayName"] for v in answer.json()["QueryResponse"]["Vendor"]] == [
            "Office Supplies Ltd",
            "City Power & Light",
        ]
        # A lost answer over a socket: the client's own timeout ends the wait.
        emulator.set_faults(timeout_rate=1.0)
        started = time.monotonic()
        try:
            httpx.get(
                f"{url}/v3/company/{token['realmId']}/preferences",
                timeout=0.3,
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
        except httpx.ReadTimeout:
            pass
        else:
            raise AssertionError("expected a timeout")
        assert time.monotonic() - started < 5


def test_the_start_up_lines_name_every_company_of_each_ledger():
    from integrations.emulators.myob import EmulatorServer as MyobServer
    from integrations.emulators.qbo import EmulatorServer as QboServer

    for server_class, word in ((QboServer, "realm"), (MyobServer, "business")):
        server = server_class()
        try:
            lines = server.add_companies(("Globex (Emulated)",))
            names = server.emulator.company_names()
        finally:
            server.stop()
        assert len(names) == 2 and names[1][1] == "Globex (Emulated)"
        assert lines == [f"  {word} {company_id} ({name})" for company_id, name in names]


def test_python_dash_m_serves_and_refuses_a_remote_host():
    refused = subprocess.run(
        [sys.executable, "-m", "integrations.emulators.qbo", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0 and "non-loopback" in refused.stderr


def test_the_manage_py_command_refuses_a_remote_host():
    import pytest
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="non-loopback"):
        call_command("run_qbo_emulator", "--host", "0.0.0.0", "--port", "0")
