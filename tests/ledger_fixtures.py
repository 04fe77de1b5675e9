"""Shared fixtures: the Xero emulator in process, reached through the contract check."""

import datetime

import pytest

from integrations.connectors.base import OAuthCredentials
from integrations.emulators.xero import EmulatorTransport, XeroEmulator
from tests.contract import fixtures as contract

# Loopback, so it passes base_url_validate; the in-process transport ignores the host anyway.
EMULATOR_URL = "http://127.0.0.1:8123"


@pytest.fixture
def xero_emulator():
    return XeroEmulator()


@pytest.fixture
def xero_transport(xero_emulator):
    # Every request we send and every answer the emulator gives must fit Xero's spec.
    yield from contract.checked_transport(EmulatorTransport(xero_emulator))


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
