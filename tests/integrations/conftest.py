"""Fixtures for connector tests: the Xero emulator in process, every exchange contract-checked."""

import datetime

import pytest

from integrations.connectors.base import ConnectorContext, OAuthCredentials
from integrations.connectors.xero import XeroConnector
from integrations.emulators.xero import EmulatorTransport, XeroEmulator
from tests.contract import fixtures as contract

EMULATOR_ROOT = "http://xero.emulator"


@pytest.fixture(scope="session", autouse=True)
def xero_specs():
    return contract.warm_specs()


@pytest.fixture
def xero_emulator():
    return XeroEmulator()


@pytest.fixture
def xero_transport(xero_emulator):
    # Every request the adapter sends and every answer the emulator gives must fit Xero's spec.
    yield from contract.checked_transport(EmulatorTransport(xero_emulator))


def credentials_from_token(token: dict) -> OAuthCredentials:
    return OAuthCredentials(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=token["expires_in"]),
        scope=token.get("scope", ""),
    )


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
