"""Reusable building blocks for contract-checked Xero traffic, as plain functions.

They are meant to be wrapped into pytest fixtures in a conftest, e.g.::

    import pytest
    from tests.contract import fixtures as contract

    @pytest.fixture(scope="session", autouse=True)
    def xero_specs():
        return contract.warm_specs()  # parse the specs once, before the first test is timed

    @pytest.fixture
    def xero_transport(emulator_transport):  # the emulator's in-process httpx transport
        yield from contract.checked_transport(emulator_transport)

Generator helpers check ``assert_no_violations()`` at teardown: if adapter code catches the
ContractViolation (e.g. a broad ``except Exception`` in retry logic), the test still fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from integrations.specs.xero import (
    AsyncContractCheckingTransport,
    ContractCheckingTransport,
    XeroSpec,
    load_specs,
)

ACCOUNTING_BASE_URL = "https://api.xero.com/api.xro/2.0"


def warm_specs() -> dict[str, XeroSpec]:
    """Load and cache both strict specs (per process; JSON cache on disk across runs)."""
    return load_specs()


def contract_transport(
    inner: httpx.BaseTransport, *, raise_on_violation: bool = True
) -> ContractCheckingTransport:
    """Wrap ``inner`` so every exchange through it is validated."""
    return ContractCheckingTransport(inner, raise_on_violation=raise_on_violation)


def checked_transport(
    inner: httpx.BaseTransport, *, raise_on_violation: bool = True
) -> Iterator[ContractCheckingTransport]:
    """Yield a checking transport; at teardown fail on any recorded violation."""
    transport = ContractCheckingTransport(inner, raise_on_violation=raise_on_violation)
    yield transport
    transport.assert_no_violations()


async def checked_async_transport(
    inner: httpx.AsyncBaseTransport, *, raise_on_violation: bool = True
) -> AsyncIterator[AsyncContractCheckingTransport]:
    """Async twin of ``checked_transport``."""
    transport = AsyncContractCheckingTransport(inner, raise_on_violation=raise_on_violation)
    yield transport
    transport.assert_no_violations()


def checked_client(
    inner: httpx.BaseTransport, *, base_url: str = ACCOUNTING_BASE_URL, **client_kwargs: Any
) -> Iterator[httpx.Client]:
    """Yield an ``httpx.Client`` whose traffic is contract-checked; fail at teardown on any
    recorded violation. Use ``checked_transport`` instead when a test needs the transport."""
    transport = ContractCheckingTransport(inner)
    with httpx.Client(transport=transport, base_url=base_url, **client_kwargs) as client:
        yield client
    transport.assert_no_violations()


def assert_no_contract_violations(
    transport: ContractCheckingTransport | AsyncContractCheckingTransport,
) -> None:
    """Explicit end-of-test check, for tests that build their own transport."""
    transport.assert_no_violations()
