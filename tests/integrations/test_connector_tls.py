"""Every connector verifies TLS with one context a process (integrations.connectors.client
.tls_context): loading the CA bundle costs about 23 ms of CPU, and a connector is made for every
push (MYOB: one a bill), so a context per connector was a sixth of a MYOB push's CPU."""

import ssl

import pytest

from integrations.connectors import client
from integrations.connectors.myob.connector import MyobConnector
from integrations.connectors.qbo.connector import QboConnector
from integrations.connectors.types import ConnectorContext
from integrations.connectors.xero.connector import XeroConnector


@pytest.fixture
def contexts_made(monkeypatch):
    made = []
    create = ssl.create_default_context

    def counted(*args, **kwargs):
        made.append(kwargs.get("cafile"))
        return create(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    client.tls_context.cache_clear()
    yield made
    client.tls_context.cache_clear()


def test_connectors_of_every_ledger_share_one_tls_context(contexts_made):
    # The ledgers' real addresses (no test transport): each connector's client would verify.
    connectors = [
        connector_class(ConnectorContext(base_url="", tenant_id="tenant", credentials=None))
        for _ in range(3)
        for connector_class in (XeroConnector, QboConnector, MyobConnector)
    ]
    for connector in connectors:
        connector.close()
    assert len(contexts_made) == 1, contexts_made


def test_a_worker_preloads_every_connector_and_the_tls_context_before_it_forks(contexts_made):
    """What a pool process would pay for on its first push is made once, in the worker's main
    process (syncsvc.celery's worker_init): every configured connector, and one TLS context."""

    from django.conf import settings

    from integrations import connectors

    connectors._import.cache_clear()
    connectors.connectors_preload()

    assert connectors._import.cache_info().currsize == len(settings.LEDGER_CONNECTORS)
    assert len(contexts_made) == 1
    connectors.connectors_preload()
    assert len(contexts_made) == 1
