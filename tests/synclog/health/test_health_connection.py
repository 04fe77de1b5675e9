"""A connection on Sync Health: its configuration (never a secret, a fixed query count) and
Force sync."""

import json
import uuid

import pytest
from django.urls import reverse

from documents import services as document_services
from integrations.models import ConnectionStatus, Mapping, MappingKind
from synclog.models import (
    StatusCode,
    SyncRecord,
    SyncRun,
    Trigger,
)
from tests.factories import CategoryFactory, DocumentFactory
from tests.synclog.health.conftest import (
    ACCOUNTING,
    ADMIN,
    CLERK,
    SUPPORT,
    count_queries,
    make_run,
    member,
    run_url,
)

# --- configuration -------------------------------------------------------------------------------


def test_configuration_page_and_download_never_show_secrets(client, org, connection, ledger):
    connection.settings = {
        **connection.settings,
        "api_key": "sk-planted-secret",
        "nested": {"refresh_token": "rt-planted-secret", "kept": "yes"},
    }
    connection.save()
    credentials = connection.credentials
    secrets = [
        credentials["access_token"],
        credentials["refresh_token"],
        connection.credentials_encrypted,
        "sk-planted-secret",
        "rt-planted-secret",
    ]
    client.force_login(member(org, SUPPORT))
    run = make_run(connection)
    pages = {
        "run": client.get(run_url(run)),
        "config": client.get(reverse("synclog:health-connection-config", args=[connection.pk])),
        "download": client.get(
            reverse("synclog:health-connection-config-download", args=[connection.pk])
        ),
    }
    for name, response in pages.items():
        body = response.content.decode()
        for secret in secrets:
            assert secret not in body, f"a secret reached the {name} page"
        assert "credentials_encrypted" not in body
        assert "access_token" not in body
    download = pages["download"]
    assert download["Content-Type"] == "application/json"
    assert download["Content-Disposition"] == (
        f'attachment; filename="xero-{connection.pk}-config.json"'
    )
    config = json.loads(download.content)
    assert config["provider"] == "xero"
    assert config["tenant_id"] == connection.tenant_id
    assert config["settings"]["payment_account_code"] == "090"
    assert config["settings"]["rate_limits"]["per_window"] == 100_000
    assert config["settings"]["nested"] == {"kept": "yes"}
    assert "api_key" not in config["settings"]
    office = Mapping.objects.filter(connection=connection, kind=MappingKind.ACCOUNT).first()
    row = next(m for m in config["mappings"] if m["local_id"] == office.local_id)
    assert row["local_name"] == "Office (429)"
    assert row["external_name"] == office.external_name
    assert row["kind_name"] == "Account"
    # The page shows the same mapping.
    assert "Office (429)" in pages["config"].content.decode()


def test_configuration_page_query_count_does_not_grow_with_mappings(client, org, books):
    client.force_login(member(org, SUPPORT))
    url = reverse("synclog:health-connection-config", args=[books.pk])

    def map_categories(count):
        for _ in range(count):
            category = CategoryFactory(org=org)
            Mapping.objects.create(
                connection=books,
                kind=MappingKind.ACCOUNT,
                local_id=category.pk,
                external_id=str(uuid.uuid4()),
                external_name="400 Advertising",
            )

    map_categories(5)
    few = count_queries(client, url)
    map_categories(45)
    assert count_queries(client, url) == few


# --- Force sync ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [CLERK, ACCOUNTING, SUPPORT])
def test_only_an_admin_may_force_sync(client, org, books, role):
    client.force_login(member(org, role))
    response = client.post(reverse("integrations:action", args=[books.pk, "force"]))
    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_force_sync_from_the_connection_page_creates_a_run(
    client, org, clerk, connection, drain, ledger, office
):
    documents = [DocumentFactory(org=org, category=office, number=f"F-{i}") for i in range(3)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    SyncRecord.objects.all().delete()  # as if they were approved before the connection existed
    admin = member(org, ADMIN)
    client.force_login(admin)
    detail = client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert 'id="force-sync"' in detail
    assert reverse("synclog:health-connection-runs", args=[connection.pk]) in detail

    response = client.post(reverse("integrations:action", args=[connection.pk, "force"]))
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response.url == run_url(run)
    assert (run.trigger, run.total, run.actor) == (Trigger.FORCE, 3, admin)
    drain()
    run.refresh_from_db()
    assert run.status_code == StatusCode.SUCCESS
    assert len(ledger.invoices()) == 3
    page = client.get(run_url(run)).content.decode()
    assert "Force sync" in page
    assert "2000 Success, data pushed" in page
    fragment = client.get(reverse("synclog:health-connection-runs", args=[connection.pk]))
    assert str(run.public_id)[:8] in fragment.content.decode()


def test_force_sync_on_a_disabled_connection_is_refused(client, org, books):
    books.status = ConnectionStatus.DISABLED
    books.save()
    client.force_login(member(org, ADMIN))
    detail = client.get(reverse("integrations:detail", args=[books.pk])).content.decode()
    assert 'id="force-sync"' not in detail
    response = client.post(reverse("integrations:action", args=[books.pk, "force"]), follow=True)
    assert "needs an active connection" in response.content.decode()
    assert not SyncRun.objects.exists()
