"""The emulator over a real socket: threaded server, clean shutdown, loopback only."""

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from integrations.emulators.xero import (
    EmulatorConfig,
    EmulatorServer,
    XeroEmulator,
    running_emulator,
)

from .conftest import API, bill


def _port_is_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return True
    return False


def test_running_emulator_serves_oauth_and_api_then_closes_the_port():
    with running_emulator() as (url, emulator):
        port = urlsplit(url).port
        with httpx.Client(base_url=url, timeout=5) as http:
            consent = http.post(
                "/identity/connect/authorize",
                data={
                    "response_type": "code",
                    "client_id": "ledgersync-dev",
                    "redirect_uri": "http://localhost/cb",
                    "scope": "offline_access accounting.transactions",
                    "state": "s",
                },
            )
            code = consent.headers["Location"].split("code=")[1].split("&")[0]
            token = http.post(
                "/connect/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": "http://localhost/cb",
                },
                auth=("ledgersync-dev", "ledgersync-dev-secret"),
            ).json()
            headers = {
                "Authorization": f"Bearer {token['access_token']}",
                "xero-tenant-id": emulator.default_tenant_id,
            }
            created = http.put(f"{API}/Invoices", json=bill(), headers=headers)
            invoice_id = created.json()["Invoices"][0]["InvoiceID"]
            attachment = http.put(
                f"{API}/Invoices/{invoice_id}/Attachments/scan.png",
                content=b"\x89PNG",
                headers={**headers, "Content-Type": "image/png"},
            ).json()["Attachments"][0]

        assert created.status_code == 200
        assert attachment["Url"].startswith(url)
        assert len(emulator.invoices()) == 1

    assert _port_is_closed(port)


def test_timeout_over_a_socket_and_prompt_shutdown():
    config = EmulatorConfig(timeout_sleep_seconds=30)
    with running_emulator(config=config) as (url, emulator):
        token = emulator.connect()
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": emulator.default_tenant_id,
        }
        emulator.set_faults(drop_response_next=1)
        with pytest.raises(httpx.ReadTimeout):
            httpx.put(f"{url}{API}/Invoices", json=bill(), headers=headers, timeout=0.3)
        assert len(emulator.invoices()) == 1  # applied, answer lost
        stopping = time.monotonic()
    # The handler thread sleeping in the fault is woken by the shutdown, not waited for 30 s.
    assert time.monotonic() - stopping < 3


def test_refuses_non_loopback_hosts():
    with pytest.raises(ValueError, match="non-loopback"):
        EmulatorServer(host="0.0.0.0")


def test_an_existing_emulator_can_be_served():
    emulator = XeroEmulator()
    with running_emulator(emulator=emulator) as (url, served):
        assert served is emulator
        assert httpx.get(f"{url}/_emulator/state").json()["tenants"][0]["tenantName"]


def test_the_demo_emulator_serves_a_second_company_to_its_own_user(tmp_path):
    """`make run`'s emulator (`--tenant "Globex (Emulated)"`): Globex's user consents and sees
    Globex's ledger only, while the demo user still sees every company."""
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "integrations.emulators.xero", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--quiet", "--tenant", "Globex (Emulated)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_emulator/health", timeout=0.5).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the emulator did not answer"
                time.sleep(0.1)
        tenants = {
            t["tenantName"]: t for t in httpx.get(f"{url}/_emulator/state").json()["tenants"]
        }
        assert set(tenants) == {"Demo Company (Emulated)", "Globex (Emulated)"}

        def tenants_seen_by(user):
            token = httpx.post(f"{url}/_emulator/connect", json={"user": user}).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            return {c["tenantName"] for c in httpx.get(f"{url}/connections", headers=auth).json()}

        assert tenants_seen_by("globex@ledgersync.local") == {"Globex (Emulated)"}
        assert tenants_seen_by("demo@ledgersync.local") == set(tenants)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
