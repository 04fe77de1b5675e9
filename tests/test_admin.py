"""Every model has an admin a support agent can use: list, search and change pages answer."""

import pytest
from django.contrib import admin
from django.urls import reverse

from documents.models import Attachment
from integrations.models import Connection, Mapping, MappingKind, Provider
from tests.factories import DocumentFactory


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


def test_every_model_of_ours_is_registered():
    ours = {"accounts", "documents", "integrations"}
    from django.apps import apps

    missing = [
        model.__name__
        for app in ours
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry and model.__name__ != "DocumentLine"
    ]
    assert missing == []


def test_admin_pages_answer_and_never_show_credentials(superuser_client, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    document = DocumentFactory(org=org)
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")
    connection.credentials = {"access_token": "secret-access-token"}
    connection.save()
    Mapping.objects.create(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=document.category_id,
        external_id="a1",
    )
    Attachment.objects.create(
        org=org,
        document=document,
        file="x.pdf",
        filename="x.pdf",
        content_type="application/pdf",
        size=1,
    )
    for model in admin.site._registry:
        if model._meta.app_label not in {"accounts", "documents", "integrations"}:
            continue
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        listing = superuser_client.get(reverse(f"{info}_changelist"), {"q": "x"})
        assert listing.status_code == 200, info
        instance = model.objects.first()
        if instance is not None:
            page = superuser_client.get(reverse(f"{info}_change", args=[instance.pk]))
            assert page.status_code == 200, info
            assert b"secret-access-token" not in page.content
            assert connection.credentials_encrypted.encode() not in page.content
