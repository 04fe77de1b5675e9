"""Shared fixtures: the Xero, QuickBooks Online and MYOB emulators in process, each reached
through its contract check (Xero's OpenAPI, Intuit's XML Schemas, MYOB's JSON Schemas)."""

import httpx
import pytest

from integrations import services as integration_services
from integrations.emulators import myob, qbo
from integrations.emulators.xero import EmulatorTransport, XeroEmulator
from integrations.models import Provider
from integrations.specs.myob import ContractCheckingTransport as MyobContractTransport
from integrations.specs.qbo import ContractCheckingTransport as QboContractTransport
from tests.contract import fixtures as contract

# Re-exported: tests import these from here as well.
from tests.ledger_books import (  # noqa: F401
    EMULATOR_URL,
    UNLIMITED,
    LedgerBooks,
    MyobBooks,
    QboBooks,
    XeroBooks,
    credentials_from_token,
)


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


class Traffic:
    """What a test's contract check holds it to: every answer must fit the ledger's contract,
    and every request too unless the test sends bad ones on purpose (`bad_requests`)."""

    def __init__(self) -> None:
        self.bad_requests_expected = False


@pytest.fixture
def traffic():
    return Traffic()


@pytest.fixture
def bad_requests(traffic):
    """For a test that sends requests outside the ledger's contract on purpose (to see the
    emulator's answer): their request side is not held to it."""
    traffic.bad_requests_expected = True


def contract_checked(checked, outside: str, traffic: Traffic | None = None):
    """Yield `checked` (a contract-checking transport that keeps its violations); at teardown,
    fail the test on any, as traffic outside `outside` (with `traffic`, a test's bad requests
    sent on purpose are not counted)."""
    yield checked
    lenient = traffic is not None and traffic.bad_requests_expected
    problems = [
        f"{v.method} {v.path}: {p}"
        for v in checked.violations
        for p in v.problems
        if p.where == "response" or not lenient
    ]
    assert not problems, f"traffic outside {outside}:\n" + "\n".join(problems)


@pytest.fixture
def qbo_transport(qbo_emulator):
    # Every request we send and every answer the emulator gives must fit Intuit's XML Schemas.
    yield from contract_checked(
        QboContractTransport(qbo.EmulatorTransport(qbo_emulator), raise_on_violation=False),
        "Intuit's schema",
    )


@pytest.fixture
def myob_emulator():
    # MYOB's 8 calls a second is the emulator's own business (its tests ask for it).
    return myob.MyobEmulator(myob.EmulatorConfig(calls_per_second=100_000))


@pytest.fixture
def myob_transport(myob_emulator):
    # Every request we send and every answer the emulator gives must fit MYOB's JSON Schemas.
    yield from contract_checked(
        MyobContractTransport(myob.EmulatorTransport(myob_emulator), raise_on_violation=False),
        "MYOB's contract",
    )


def map_to_account(connection, category, code: str = "429") -> None:
    """Fix a missing mapping: book the category to the ledger account with `code`, as the
    Mappings page saves it."""
    account = next(
        a for a in integration_services.connector_for(connection).list_accounts() if a.code == code
    )
    integration_services.mapping_set_account(
        connection=connection, category_id=category.pk, account=account
    )


def map_to_tracking_option(connection, department, option_name: str) -> None:
    """Map a department to the ledger's tracking option of that name, as the Mappings page
    saves it."""
    option = next(
        o
        for o in integration_services.connector_for(connection).list_tracking_options()
        if o.option_name == option_name
    )
    integration_services.mapping_set_tracking(
        connection=connection, department_id=department.pk, option=option
    )


class Tap(httpx.BaseTransport):
    """Passes calls on and keeps them; runs `before(request)` first when one is set (a change
    behind our back between our read and our write)."""

    def __init__(self, inner):
        self.inner = inner
        self.before = None
        self.requests: list[httpx.Request] = []

    def handle_request(self, request):
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return self.inner.handle_request(request)


@pytest.fixture
def ledger(monkeypatch, settings, xero_emulator, xero_transport):
    """Route every connector the app builds to the in-process emulator."""
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: xero_transport
    )
    return xero_emulator


def quota_spend(connection, calls: int) -> None:
    """Calls made by the engine's pushes on the connection's quota (counted, slots released)."""
    from synclog.ratelimit import Grant, get_rate_limiter
    from synclog.services import connection_quota, connection_quota_key

    limiter = get_rate_limiter()
    key = connection_quota_key(connection=connection)
    limits = connection_quota(connection=connection)
    for _ in range(calls):
        grant = limiter.try_acquire(key, limits)
        assert isinstance(grant, Grant)
        limiter.release(grant)


@pytest.fixture
def provider():
    """The ledger of `ledger_books` and of the engine tests' `connection`: Xero unless a test
    module parametrises it (`@pytest.mark.parametrize("provider", LEDGERS)`)."""
    return Provider.XERO


LEDGERS = [Provider.XERO, Provider.QUICKBOOKS, Provider.MYOB]


@pytest.fixture
def ledger_books(request, provider, monkeypatch, settings) -> LedgerBooks:
    """The ledger behind the app's connectors, for tests that run on each one."""
    if provider == Provider.XERO:
        return XeroBooks(request.getfixturevalue("ledger"))
    books_class, prefix = (MyobBooks, "myob") if provider == Provider.MYOB else (QboBooks, "qbo")
    emulator = request.getfixturevalue(f"{prefix}_emulator")
    transport = request.getfixturevalue(f"{prefix}_transport")
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: transport
    )
    return books_class(emulator)
