"""Fixtures for the QBO emulator tests: an emulator with a hand-driven clock, an httpx client
over the in-process transport whose every request and answer is checked against Intuit's XML
Schemas, and a connected API helper. No database."""

from dataclasses import dataclass

import httpx
import pytest

from integrations.emulators.qbo import EmulatorConfig, EmulatorTransport, ManualClock, QboEmulator
from integrations.specs.qbo import ContractCheckingTransport
from tests.ledger_fixtures import contract_checked

ROOT = "http://qbo.emulator"
MINOR = {"minorversion": "75"}


@pytest.fixture
def clock():
    return ManualClock(start=1_795_000_000.0)  # 2026-11-18T03:06:40-08:00


@pytest.fixture
def config():
    # The per-second throttle would refuse a test's eleventh call on a frozen clock; the
    # throttle tests ask for Intuit's figures explicitly.
    return EmulatorConfig(calls_per_second=10_000)


@pytest.fixture
def emulator(config, clock):
    return QboEmulator(config, clock=clock)


@pytest.fixture
def checked(emulator, traffic):
    yield from contract_checked(
        ContractCheckingTransport(EmulatorTransport(emulator), raise_on_violation=False),
        "Intuit's schema",
        traffic,
    )


@pytest.fixture
def http(checked):
    with httpx.Client(transport=checked, base_url=ROOT) as client:
        yield client


@dataclass
class Api:
    http: httpx.Client
    emulator: QboEmulator
    token: dict

    @property
    def realm_id(self) -> str:
        return self.token["realmId"]

    def request(self, method, path, *, params=None, headers=None, **kwargs) -> httpx.Response:
        return self.http.request(
            method,
            f"/v3/company/{self.realm_id}{path}",
            params={**MINOR, **(params or {})},
            headers={
                "Authorization": f"Bearer {self.token['access_token']}",
                "Accept": "application/json",
                **(headers or {}),
            },
            **kwargs,
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def query(self, text: str) -> dict:
        response = self.get("/query", params={"query": text})
        assert response.status_code == 200, response.text
        return response.json()["QueryResponse"]

    def ref(self, entity: str, name: str) -> dict:
        key = "DisplayName" if entity in ("Vendor", "Customer") else "Name"
        [found] = [e for e in self.emulator.entities(entity) if e[key] == name]
        return {"value": found["Id"]}

    def bill(self, **fields) -> dict:
        """A valid bill for 100.00 from Office Supplies Ltd on the Office Supplies account."""
        return {
            "VendorRef": self.ref("Vendor", "Office Supplies Ltd"),
            "TxnDate": "2026-11-01",
            "DueDate": "2026-12-01",
            "DocNumber": "SUP-1001",
            "Line": [
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": 100.0,
                    "Description": "Paper",
                    "AccountBasedExpenseLineDetail": {
                        "AccountRef": self.ref("Account", "Office Supplies"),
                        "ClassRef": self.ref("Class", "Operations"),
                    },
                }
            ],
            **fields,
        }

    def create_bill(self, **fields) -> dict:
        response = self.post("/bill", json=self.bill(**fields))
        assert response.status_code == 200, response.text
        return response.json()["Bill"]

    def pay(self, bill: dict, amount, **fields) -> httpx.Response:
        return self.post(
            "/billpayment",
            json={
                "VendorRef": bill["VendorRef"],
                "PayType": "Check",
                "TotalAmt": amount,
                "TxnDate": "2026-11-20",
                "CheckPayment": {"BankAccountRef": self.ref("Account", "Checking")},
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
                ],
                **fields,
            },
        )


def fault(response: httpx.Response, status: int = 400) -> tuple[str, str, str]:
    """(code, Message, Detail) of a Fault answer."""
    assert response.status_code == status, response.text
    [error] = response.json()["Fault"]["Error"]
    return error["code"], error["Message"], error["Detail"]


@pytest.fixture
def api(http, emulator):
    return Api(http, emulator, emulator.connect())
