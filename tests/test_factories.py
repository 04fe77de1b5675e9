"""The factories write rows that hang together: one organisation per row and what it belongs to."""

import pytest

from accounts.services import api_key_authenticate
from documents.models import Category
from integrations.models import MappingKind
from tests.factories import (
    ApiKeyFactory,
    ConnectionFactory,
    MappingFactory,
    SyncAttemptFactory,
    SyncRunFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db


def test_sync_log_rows_share_their_connections_organisation(org):
    connection = ConnectionFactory(org=org)
    run = SyncRunFactory(connection=connection)
    attempt = SyncAttemptFactory(record__connection=connection, run=run)
    record = attempt.record
    assert {run.org, record.org, record.document.org, attempt.org} == {org}
    assert attempt.finished_at > attempt.started_at
    # Without a connection given, each row still has one organisation throughout.
    other = SyncAttemptFactory()
    assert other.org == other.record.org == other.record.connection.org
    assert other.record.document.org == other.org != org


def test_a_mapping_maps_a_category_of_its_connections_organisation(org):
    mapping = MappingFactory(connection=ConnectionFactory(org=org))
    assert mapping.kind == MappingKind.ACCOUNT
    assert Category.objects.for_org(org).filter(pk=mapping.local_id).exists()


def test_an_endpoint_keeps_its_secret_encrypted_and_a_key_authenticates(org):
    endpoint = WebhookEndpointFactory(org=org)
    endpoint.refresh_from_db()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret not in endpoint.secret_encrypted
    key = ApiKeyFactory(org=org)
    assert api_key_authenticate(plaintext=key.plaintext) == key
