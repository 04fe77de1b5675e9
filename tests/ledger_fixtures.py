"""Shared fixtures: the Xero and QuickBooks Online emulators in process, each reached through
its contract check (Xero's OpenAPI, Intuit's XML Schemas)."""

import datetime

import pytest

from integrations.connectors.base import OAuthCredentials
from integrations.emulators import qbo
from integrations.emulators.xero import EmulatorTransport, XeroEmulator
from tests.contract import fixtures as contract
from tests.contract.qbo_contract import ContractCheckingTransport as QboContractTransport

# Loopback, so it passes base_url_validate; the in-process transport ignores the host anyway.
EMULATOR_URL = "http://127.0.0.1:8123"


@pytest.fixture
def xero_emulator():
    return XeroEmulator()


@pytest.fixture
def xero_transport(xero_emulator):
    # Every request we send and every answer the emulator gives must fit Xero's spec.
    yield from contract.checked_transport(EmulatorTransport(xero_emulator))


@pytest.fixture
def qbo_emulator():
    # Intuit's per-second throttle is the emulator's own business (its tests ask for it); on a
    # test's frozen pace it would refuse the eleventh call of a second.
    return qbo.QboEmulator(qbo.EmulatorConfig(calls_per_second=10_000))


@pytest.fixture
def qbo_transport(qbo_emulator):
    # Every request we send and every answer the emulator gives must fit Intuit's XML Schemas.
    checked = QboContractTransport(qbo.EmulatorTransport(qbo_emulator), raise_on_violation=False)
    yield checked
    problems = [f"{v.method} {v.path}: {p}" for v in checked.violations for p in v.problems]
    assert not problems, "traffic outside Intuit's schema:\n" + "\n".join(problems)


def credentials_from_token(token: dict) -> OAuthCredentials:
    return OAuthCredentials(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=token["expires_in"]),
        scope=token.get("scope", ""),
    )


@pytest.fixture
def ledger(monkeypatch, settings, xero_emulator, xero_transport):
    """Route every connector the app builds to the in-process emulator."""
    from integrations import services

    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(services, "ledger_transport", lambda connection: xero_transport)
    return xero_emulator
