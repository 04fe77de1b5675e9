"""The webhooks admin answers for support agents and never shows a signing secret."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from webhooks import services
from webhooks.models import WebhookDeliveryAttempt


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


def test_every_webhooks_model_has_an_admin_that_answers_without_secrets(
    superuser_client, org, allow_private, make_endpoint, webhook_tasks
):
    endpoint, secret = make_endpoint("http://127.0.0.1:9/hook")
    [delivery] = services.webhook_event_emit(org=org, event_type="sync.failed", payload={"a": 1})
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery, url=endpoint.url, status_code=500, attempted_at=timezone.now()
    )
    models = [model for model in admin.site._registry if model._meta.app_label == "webhooks"]
    assert len(models) == 3  # endpoints, messages, deliveries (attempts inline)
    for model in models:
        info = f"admin:webhooks_{model._meta.model_name}"
        listing = superuser_client.get(reverse(f"{info}_changelist"), {"q": "x"})
        assert listing.status_code == 200, info
        page = superuser_client.get(reverse(f"{info}_change", args=[model.objects.first().pk]))
        assert page.status_code == 200, info
        for content in (listing.content, page.content):
            assert secret.encode() not in content
            assert endpoint.secret_encrypted.encode() not in content
