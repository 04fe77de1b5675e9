"""Two worker processes whose access token expired together must not both spend the refresh
token: the ledgers rotate it (Xero at every refresh, the MYOB and QBO emulators too), so the
second refresh sent with the spent one is refused and the connection needs a reconnect, as the
MYOB bench run of 20 organisations met twice in 40 minutes. One refresh at a time per connection
(integrations.services.ledger._credentials_refresh_lock); the other takes what it saved."""

import datetime
import threading

import pytest
from django.db import connection as db_connection

from integrations import services as integration_services
from integrations.connectors.types import OAuthCredentials
from integrations.models import Connection, ConnectionStatus
from tests.ledger_fixtures import LEDGERS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.parametrize("provider", LEDGERS)]


def expire(connection: Connection) -> None:
    credentials = OAuthCredentials.from_dict(connection.credentials)
    credentials.expires_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    integration_services.connection_credentials_save(connection=connection, credentials=credentials)


def test_a_worker_holding_tokens_another_refreshed_takes_the_saved_ones(connection):
    expire(connection)
    first = integration_services.connector_for(Connection.objects.get(pk=connection.pk))
    second = integration_services.connector_for(Connection.objects.get(pk=connection.pk))
    try:
        fresh = first.refresh_credentials()
        # The second still holds the refresh token the first has just spent.
        assert second.refresh_credentials() == fresh
        assert second.list_accounts()
    finally:
        first.close()
        second.close()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert OAuthCredentials.from_dict(connection.credentials) == fresh


def test_two_workers_refreshing_at_once_keep_the_connection(connection):
    expire(connection)
    start = threading.Barrier(2)
    refreshed, errors = [], []

    def worker() -> None:
        connector = integration_services.connector_for(Connection.objects.get(pk=connection.pk))
        try:
            start.wait(timeout=10)
            refreshed.append(connector.refresh_credentials())
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connector.close()
            db_connection.close()  # this thread's own database session

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    # One refreshed; the other waited for it and took what it saved.
    assert refreshed[0] == refreshed[1]
    connection.refresh_from_db()
    assert OAuthCredentials.from_dict(connection.credentials) == refreshed[0]
    connector = integration_services.connector_for(connection)
    try:
        assert connector.list_accounts()
    finally:
        connector.close()
