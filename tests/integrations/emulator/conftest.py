"""Fixtures for the Xero emulator tests: an emulator with a hand-driven clock, an httpx client
over the in-process transport, and a connected API helper. No database."""

from dataclasses import dataclass

import httpx
import pytest

from integrations.emulators.xero import (
    EmulatorConfig,
    EmulatorTransport,
    ManualClock,
    XeroEmulator,
)
from integrations.specs.xero import ContractCheckingTransport

API = "/api.xro/2.0"


@pytest.fixture
def clock():
    return ManualClock(start=1_795_000_000.0)  # 2026-11-18T11:06:40Z


@pytest.fixture
def config():
    return EmulatorConfig()


@pytest.fixture
def emulator(config, clock):
    return XeroEmulator(config, clock=clock)


@pytest.fixture
def http(emulator):
    # Every answer the emulator gives in these tests must fit Xero's published spec. Requests are
    # not held to it here: these tests send bad ones on purpose (no token, no tenant header).
    checked = ContractCheckingTransport(EmulatorTransport(emulator), raise_on_violation=False)
    with httpx.Client(transport=checked, base_url="http://xero.emulator") as c:
        yield c
    bad_answers = [
        f"{violation.method} {violation.path}: {problem}"
        for violation in checked.violations
        for problem in violation.problems
        if problem.where.startswith("response")
    ]
    assert not bad_answers, "emulator answers outside Xero's spec:\n" + "\n".join(bad_answers)


@dataclass
class Api:
    """An httpx client already connected to the demo tenant, with Xero-ish helpers."""

    http: httpx.Client
    emulator: XeroEmulator
    token: dict
    tenant_id: str

    def headers(self, **extra) -> dict:
        return {
            "Authorization": f"Bearer {self.token['access_token']}",
            "xero-tenant-id": self.tenant_id,
            "Accept": "application/json",
            **extra,
        }

    def request(self, method: str, path: str, *, headers=None, **kwargs) -> httpx.Response:
        return self.http.request(
            method, API + path, headers=self.headers(**(headers or {})), **kwargs
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def contact_id(self, name: str) -> str:
        contacts = self.get("/Contacts", params={"includeArchived": "true"}).json()["Contacts"]
        return next(c["ContactID"] for c in contacts if c["Name"] == name)

    def create_bill(self, **fields) -> dict:
        response = self.put("/Invoices", json={"Invoices": [bill(**fields)]})
        assert response.status_code == 200, response.text
        return response.json()["Invoices"][0]

    def pay(self, invoice_id: str, amount, **fields) -> httpx.Response:
        payment = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2026-11-20",
            "Amount": amount,
            **fields,
        }
        return self.put("/Payments", json={"Payments": [payment]})


def bill(**fields) -> dict:
    """A valid ACCPAY bill for 100.00 (2 x 50 on account 429); fields override."""
    return {
        "Type": "ACCPAY",
        "Contact": {"Name": "Office Supplies Ltd"},
        "InvoiceNumber": "SUP-1001",
        "Date": "2026-11-01",
        "DueDate": "2026-12-01",
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": "Paper", "Quantity": 2, "UnitAmount": 50, "AccountCode": "429"}
        ],
        **fields,
    }


def validation_messages(response: httpx.Response) -> list[str]:
    body = response.json()
    assert response.status_code == 400, response.text
    assert body["Type"] == "ValidationException"
    assert body["ErrorNumber"] == 10
    return [e["Message"] for element in body["Elements"] for e in element["ValidationErrors"]]


@pytest.fixture
def api(http, emulator):
    return Api(http, emulator, emulator.connect(), emulator.default_tenant_id)
