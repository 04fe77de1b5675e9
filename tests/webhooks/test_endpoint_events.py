"""Secret rotation and deletion of a webhook endpoint are audited with who and when, in the
change's transaction, and kept after the endpoint is gone."""

import pytest
from django.db import IntegrityError

from webhooks import services
from webhooks.models import WebhookEndpoint, WebhookEndpointEvent, WebhookEndpointEventKind


@pytest.fixture
def endpoint(org, allow_private, make_endpoint):
    endpoint, _secret = make_endpoint("http://127.0.0.1:9/hook")
    return endpoint


def test_a_rotation_is_recorded_with_who_and_when(endpoint, admin_user):
    old = endpoint.secret
    services.webhook_endpoint_secret_rotate(endpoint=endpoint, actor=admin_user)
    [event] = WebhookEndpointEvent.objects.all()
    assert (event.endpoint, event.kind, event.actor, event.org) == (
        endpoint,
        WebhookEndpointEventKind.SECRET_ROTATED,
        admin_user,
        endpoint.org,
    )
    assert event.at is not None and event.who == admin_user.username
    endpoint.refresh_from_db()
    assert endpoint.secret != old


def test_a_delete_keeps_its_audit_row_with_the_url(endpoint, admin_user):
    services.webhook_endpoint_delete(endpoint=endpoint, actor=admin_user)
    assert not WebhookEndpoint.objects.exists()
    [event] = WebhookEndpointEvent.objects.all()
    assert (event.endpoint, event.endpoint_url, event.kind, event.actor) == (
        None,
        "http://127.0.0.1:9/hook",
        WebhookEndpointEventKind.DELETED,
        admin_user,
    )


def test_an_api_key_is_named_as_the_actor(endpoint):
    services.webhook_endpoint_secret_rotate(
        endpoint=endpoint, actor=None, actor_label="API key Expense app"
    )
    assert WebhookEndpointEvent.objects.get().who == "API key Expense app"


def test_no_rotation_without_its_audit_row(endpoint, admin_user, monkeypatch):
    old = endpoint.secret

    def refuse(**kwargs):
        raise IntegrityError("audit row refused")

    monkeypatch.setattr(WebhookEndpointEvent.objects, "create", refuse)
    with pytest.raises(IntegrityError):
        services.webhook_endpoint_secret_rotate(endpoint=endpoint, actor=admin_user)
    endpoint.refresh_from_db()
    assert endpoint.secret == old
