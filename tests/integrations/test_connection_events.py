"""Connection events are written in the transaction of the change: one without the other
never happens."""

import pytest
from django.db import IntegrityError

from integrations import services
from integrations.models import Connection, ConnectionEvent, ConnectionStatus, Provider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(org):
    return Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")


def test_each_change_writes_its_event(connection):
    user = UserFactory()
    services.connection_disable(connection=connection, actor=user)
    services.connection_enable(connection=connection, actor=user)
    services.connection_disconnect(connection=connection, actor=user)
    assert list(connection.events.values_list("kind", "actor")) == [
        ("disconnected", user.pk),
        ("enabled", user.pk),
        ("disabled", user.pk),
    ]


def test_a_change_whose_event_cannot_be_written_is_not_made(connection, monkeypatch):
    def refuse(**kwargs):
        raise IntegrityError("audit table unavailable")

    monkeypatch.setattr(ConnectionEvent.objects, "create", refuse)
    with pytest.raises(IntegrityError):
        services.connection_disable(connection=connection, actor=UserFactory())
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
