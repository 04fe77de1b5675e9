"""The API keys page: admins create keys (shown once) and revoke them."""

import re

import pytest
from django.urls import reverse

from accounts.models import ApiKey, Role
from accounts.services import api_key_create
from tests.api.conftest import make_client
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls_with_api_keys")]


@pytest.fixture
def admin(org):
    return MembershipFactory(org=org, role=Role.ADMIN).user


def test_an_admin_creates_a_key_that_is_shown_once_and_works(client_for, admin, org):
    client = client_for(admin)
    empty = client.get(reverse("api_keys:list"))
    assert empty.status_code == 200
    assert "No API key yet" in empty.content.decode()

    response = client.post(reverse("api_keys:list"), {"name": "Expense app"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    key = re.search(r'value="(lsk_[^"]+)"', page).group(1)
    assert ApiKey.objects.get(org=org).name == "Expense app"
    assert make_client(key).get("/api/v1/contacts").status_code == 200

    later = client.get(reverse("api_keys:list")).content.decode()
    assert key not in later
    assert "Expense app" in later


def test_a_name_is_required(client_for, admin):
    response = client_for(admin).post(reverse("api_keys:list"), {"name": ""})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoke(client_for, admin, org):
    created = api_key_create(org=org, name="Old ERP", actor=admin)
    client = client_for(admin)
    response = client.post(reverse("api_keys:revoke", args=[created.api_key.pk]), follow=True)
    assert "Old ERP revoked" in response.content.decode()
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None and created.api_key.revoked_by == admin
    assert make_client(created.plaintext).get("/api/v1/contacts").status_code == 401


def test_another_organisations_key_cannot_be_revoked(client_for, admin, other_org):
    theirs = api_key_create(org=other_org, name="Theirs", actor=None)
    response = client_for(admin).post(reverse("api_keys:revoke", args=[theirs.api_key.pk]))
    assert response.status_code == 404
    theirs.api_key.refresh_from_db()
    assert theirs.api_key.revoked_at is None


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT])
def test_only_admins_manage_keys(client_for, org, role):
    user = MembershipFactory(org=org, role=role).user
    created = api_key_create(org=org, name="ERP", actor=None)
    client = client_for(user)
    page = client.get(reverse("api_keys:list"))
    assert page.status_code == 302 and "sign-in" in page["Location"]
    assert client.post(reverse("api_keys:list"), {"name": "x"}).status_code == 403
    assert client.post(reverse("api_keys:revoke", args=[created.api_key.pk])).status_code == 403
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 1
