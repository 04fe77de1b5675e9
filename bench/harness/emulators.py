"""The ledger emulators as server processes of their own (`python -m
integrations.emulators.<ledger>` on a free port), driven through their control API
(`/_emulator/...`). The QuickBooks Online and MYOB clients answer in the Xero client's words (a
realm or a company file is a tenant; `state()` adds Xero-shaped keys), so that a script runs on
any ledger with `--ledger`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from bench.harness.processes import START_DEADLINE, Process, free_port, wait_until


class Emulator:
    """The Xero emulator as a server process, driven through its control API."""

    ledger = "xero"
    module = "integrations.emulators.xero"

    def __init__(self, process: Process, url: str) -> None:
        self.process = process
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.http.request(method, f"/_emulator{path}", json=body)
        response.raise_for_status()
        return response.json()

    def set_rate_limits(self, **limits) -> dict:
        return self.control("POST", "/rate-limits", limits)

    def set_faults(self, **faults) -> dict:
        return self.control("POST", "/faults", faults)

    def clear_faults(self) -> dict:
        return self.control("DELETE", "/faults")

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/tenants", {"name": name})["tenantId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"tenant_ids": [tenant_id]})

    def state(self) -> dict:
        return self.control("GET", "/state")

    def default_tenant_id(self) -> str:
        return self.state()["tenants"][0]["tenantId"]

    def close(self) -> None:
        self.http.close()


class QboEmulator(Emulator):
    """The QuickBooks Online emulator as a server process, in the harness's words: a realm is a
    tenant, and `state()` adds the Xero-shaped keys the scripts read (`calls` and `tenants` by
    tenant id, each tenant's bills as `invoices` with our reference in `Url`, `tenantId` on
    every logged request), beside QBO's own `realms`."""

    ledger = "qbo"
    module = "integrations.emulators.qbo"
    # Intuit's throttles per realm and app (the emulator's defaults): 500 calls a minute, 10 a
    # second, 40 batch requests a minute. Its windows are Intuit's minute and second, unscaled.
    INTUIT_THROTTLES = {
        "calls_per_minute": 500,
        "calls_per_second": 10,
        "batch_calls_per_minute": 40,
    }
    UNLIMITED_THROTTLES = {
        "calls_per_minute": 10**7,
        "calls_per_second": 10**6,
        "batch_calls_per_minute": 10**7,
    }

    def set_rate_limits(self, **limits) -> dict:
        """Xero's limit names (calls_per_window, ...) mean "lift the throttles": the scripts pass
        them for runs that are not about quota. QBO's own names set its throttles."""
        if set(limits) - set(self.INTUIT_THROTTLES):
            limits = self.UNLIMITED_THROTTLES
        return self.control("POST", "/throttles", limits)

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/realms", {"name": name})["realmId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"realm_id": tenant_id})

    def default_tenant_id(self) -> str:
        return self.control("GET", "/state")["realms"][0]["realmId"]

    def state(self) -> dict:
        state = self.control("GET", "/state")
        state["calls"] = {realm["realmId"]: realm["calls"] for realm in state["realms"]}
        state["tenants"] = [
            {
                "tenantId": realm["realmId"],
                "refusedCalls": realm["refusedCalls"],
                # A deleted bill is no longer listed: every one here is live.
                "invoices": [
                    {"Url": bill.get("PrivateNote", ""), "Status": "AUTHORISED"}
                    for bill in realm["entities"]["Bill"]
                ],
            }
            for realm in state["realms"]
        ]
        for request in state["requests"]:
            request["tenantId"] = request.get("realmId", "")
            request["idempotencyKey"] = request.get("requestid")
        return state


class MyobEmulator(Emulator):
    """The MYOB emulator as a server process, in the harness's words: a company file is a
    tenant, and `state()` adds the Xero-shaped keys the scripts read (`calls` and `tenants` by
    tenant id, each company file's bills as `invoices` with our reference in `Url`, `tenantId`
    on every logged request). MYOB's limits are the API key's, every company file together."""

    ledger = "myob"
    module = "integrations.emulators.myob"
    # MYOB's limits per API key (the emulator's defaults): 8 calls a second, 1,000,000 a day.
    MYOB_LIMITS = {"calls_per_second": 8, "calls_per_day": 1_000_000}
    UNLIMITED_LIMITS = {"calls_per_second": 10**6, "calls_per_day": 10**9}

    def set_rate_limits(self, **limits) -> dict:
        """Xero's limit names mean "lift the limits" (runs that are not about quota); MYOB's own
        names set them."""
        if set(limits) - set(self.MYOB_LIMITS):
            limits = self.UNLIMITED_LIMITS
        return self.control("POST", "/limits", limits)

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/company-files", {"name": name})["businessId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"business_id": tenant_id})

    def default_tenant_id(self) -> str:
        return self.control("GET", "/state")["companyFiles"][0]["businessId"]

    def state(self) -> dict:
        state = self.control("GET", "/state")
        usage = state["limits"]
        state["calls"] = dict(usage["accepted"])
        state["tenants"] = [
            {
                "tenantId": company["businessId"],
                "refusedCalls": usage["refused"].get(company["businessId"], 0),
                # A deleted bill is no longer listed: every one here is live.
                "invoices": [
                    {"Url": bill.get("JournalMemo") or "", "Status": "AUTHORISED"}
                    for bill in company["records"]["Purchase/Bill/Service"]
                ],
            }
            for company in state["companyFiles"]
        ]
        for request in state["requests"]:
            request["tenantId"] = request.get("businessId", "")
            request["idempotencyKey"] = None  # MYOB takes none
        return state


EMULATORS = {emulator.ledger: emulator for emulator in (Emulator, QboEmulator, MyobEmulator)}


def add_ledger_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        choices=sorted(EMULATORS),
        default="xero",
        help="the ledger whose emulator the run pushes to (default xero)",
    )


def launch_emulator(ledger: str, *, env: dict, log_dir: Path) -> Emulator:
    """The emulator of `ledger` on a free port, once it answers its health check."""
    emulator_class = EMULATORS[ledger]
    port = free_port()
    process = Process(
        f"emulator-{port}",
        [sys.executable, "-m", emulator_class.module, "--port", str(port), "--quiet"],
        env=env,
        log_path=log_dir / f"emulator-{port}.log",
    ).launch()
    emulator = emulator_class(process, f"http://127.0.0.1:{port}")

    def healthy() -> bool:
        if not process.alive:
            raise RuntimeError(f"the emulator exited:\n{process.log_tail()}")
        try:
            return emulator.http.get("/_emulator/health", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=START_DEADLINE, interval=0.05, what="the ledger emulator")
    except BaseException:
        process.stop()
        emulator.close()
        raise
    return emulator
