"""Fixtures for the MYOB emulator and adapter tests: an emulator with a hand-driven clock, its
in-process transport behind MYOB's contract check (every request and answer held to
integrations/specs/myob/), and lookups of the seeded company file's records. No database."""

import httpx
import pytest

from integrations.connectors.myob import MyobConnector
from integrations.connectors.myob import lookups as myob_lookups
from integrations.connectors.types import ConnectorContext
from integrations.emulators.myob import (
    EmulatorConfig,
    EmulatorTransport,
    ManualClock,
    MyobEmulator,
)
from integrations.specs.myob import ContractCheckingTransport
from tests.ledger_fixtures import Tap, contract_checked, credentials_from_token

ROOT = "http://myob.emulator"
KEY = EmulatorConfig.client_id


@pytest.fixture(autouse=True)
def forget_references():
    """Each test starts without the accounts and tax codes an earlier one read."""
    myob_lookups._REFERENCES.clear()


@pytest.fixture
def clock():
    return ManualClock(start=1_795_000_000.0)  # 2026-11-18T11:06:40Z


@pytest.fixture
def config():
    # A frozen clock would refuse a test's ninth call in "one second"; the limit tests ask for
    # MYOB's figures explicitly.
    return EmulatorConfig(calls_per_second=100_000)


@pytest.fixture
def emulator(config, clock):
    return MyobEmulator(config, clock=clock)


@pytest.fixture
def checked(emulator, traffic):
    yield from contract_checked(
        ContractCheckingTransport(EmulatorTransport(emulator), raise_on_violation=False),
        "MYOB's contract",
        traffic,
    )


@pytest.fixture
def tap(checked):
    return Tap(checked)


@pytest.fixture
def http(checked):
    with httpx.Client(transport=checked, base_url=ROOT) as client:
        yield client


@pytest.fixture
def token(emulator):
    return emulator.connect()


def api_headers(token: dict) -> dict:
    return {
        "Authorization": f"Bearer {token['access_token']}",
        "x-myobapi-key": KEY,
        "x-myobapi-version": "v2",
    }


@pytest.fixture
def saved():
    return []


@pytest.fixture
def myob(token, tap, saved):
    connector = MyobConnector(
        ConnectorContext(
            base_url=ROOT,
            tenant_id=token["businessId"],
            credentials=credentials_from_token(token),
            save_credentials=saved.append,
            transport=tap,
        )
    )
    yield connector
    connector.close()


class Seeded:
    """UIDs of the seeded company file's records, by what people call them."""

    def __init__(self, emulator: MyobEmulator, business_id: str | None = None) -> None:
        self.emulator = emulator
        self.business_id = business_id

    def _uid(self, resource: str, key: str, value: str) -> str:
        [row] = [r for r in self.emulator.records(resource, self.business_id) if r[key] == value]
        return row["UID"]

    def account(self, display_id: str) -> str:
        return self._uid("GeneralLedger/Account", "DisplayID", display_id)

    def supplier(self, name: str) -> str:
        return self._uid("Contact/Supplier", "CompanyName", name)

    def customer(self, name: str) -> str:
        return self._uid("Contact/Customer", "CompanyName", name)

    def tax(self, code: str) -> str:
        return self._uid("GeneralLedger/TaxCode", "Code", code)

    def job(self, number: str) -> str:
        return self._uid("GeneralLedger/Job", "Number", number)

    def category(self, display_id: str) -> str:
        return self._uid("Category", "DisplayID", display_id)


@pytest.fixture
def seeded(emulator):
    return Seeded(emulator)
