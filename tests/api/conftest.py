"""API fixtures: an organisation's API key and a client that sends it."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from synclog.ratelimit import get_rate_limiter
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory

# The synclog fixtures: a connection to the in-process Xero emulator, drain(), enqueued (and the
# reconcile tasks sent).
from tests.synclog.conftest import (  # noqa: F401
    connection,
    drain,
    enqueued,
    office,
    reconcile_tasks,
)

# The webhooks fixtures: a real HTTP receiver on a loopback port, captured delivery tasks.
from tests.webhooks.conftest import receiver, webhook_tasks  # noqa: F401


def make_client(plaintext: str | None) -> APIClient:
    client = APIClient()
    if plaintext:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def created_key(org):
    created = api_key_create(org=org, name="Partner ERP", actor=None)
    yield created
    get_rate_limiter().reset(f"api-key:{created.api_key.pk}")


@pytest.fixture
def api_key(created_key):
    return created_key.api_key


@pytest.fixture
def api(created_key):
    """A client authenticated as the organisation's partner system."""
    return make_client(created_key.plaintext)


@pytest.fixture
def other_api(other_org):
    created = api_key_create(org=other_org, name="Other ERP", actor=None)
    yield make_client(created.plaintext)
    get_rate_limiter().reset(f"api-key:{created.api_key.pk}")


@pytest.fixture
def batches(monkeypatch, enqueued):  # noqa: F811
    """The batches a sync sends to the workers (record ids), instead of the broker. Patched
    after `enqueued` (which counts a batch's ids as sent one by one), so the batches land here
    whatever order a test names the two in."""
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.sync_batch, "apply_async", lambda args, countdown=0, queue=None: sent.append(args[0])
    )
    return sent


@pytest.fixture
def anonymous():
    return make_client(None)


@pytest.fixture
def foreign(other_org):
    """Objects of another organisation: their ids must answer 404 (or "does not exist")."""
    contact = ContactFactory(org=other_org)
    category = CategoryFactory(org=other_org)
    document = DocumentFactory(org=other_org, contact=contact, category=category)
    return {"contact": contact, "category": category, "document": document}


def error_fields(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]["fields"]
