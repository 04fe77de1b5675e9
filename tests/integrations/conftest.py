"""Fixtures for connector tests: the Xero emulator in process, every exchange contract-checked."""

import pytest

from integrations.connectors.types import ConnectorContext, OAuthCredentials
from integrations.connectors.xero import XeroConnector
from tests.contract import fixtures as contract
from tests.ledger_fixtures import credentials_from_token

EMULATOR_ROOT = "http://xero.emulator"


@pytest.fixture(scope="session", autouse=True)
def xero_specs():
    return contract.warm_specs()


class Recorder:
    def __init__(self):
        self.saved: list[OAuthCredentials] = []
        self.calls = []


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def xero(xero_emulator, xero_transport, recorder):
    context = ConnectorContext(
        base_url=EMULATOR_ROOT,
        tenant_id=xero_emulator.default_tenant_id,
        credentials=credentials_from_token(xero_emulator.connect()),
        save_credentials=recorder.saved.append,
        record_call=recorder.calls.append,
        transport=xero_transport,
    )
    connector = XeroConnector(context)
    yield connector
    connector.close()
