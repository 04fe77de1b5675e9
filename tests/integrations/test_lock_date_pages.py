"""The Locked periods section of a connection's page: the ledger's lock date (read on connect and
on demand, in plain words), and the policy for pushes dated in it, which an admin changes
(validated, audited); another organisation's connection is not found."""

import datetime
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from integrations.models import (
    Connection,
    ConnectionEvent,
    ConnectionEventKind,
    LockedPeriodPolicy,
    Provider,
)
from tests.factories import MembershipFactory
from tests.integrations.test_views import connect
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def test_connecting_reads_the_lock_date_and_the_page_says_it(admin_client, ledger):
    ledger.set_lock_date(lock_date="2026-11-15")
    connection = connect(admin_client, ledger)
    assert connection.lock_date == datetime.date(2026, 11, 15)
    assert connection.lock_date_read_at is not None
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert "Xero is locked until 15 Nov 2026 (inclusive): PeriodLockDate 2026-11-15" in page
    assert re.search(r'<input[^>]*value="hold"[^>]*checked', page)


def test_reading_the_lock_date_again_on_demand(admin_client, ledger):
    connection = connect(admin_client, ledger)
    assert connection.lock_date is None
    ledger.set_lock_date(lock_date="2026-12-31")
    response = admin_client.post(reverse("integrations:action", args=[connection.pk, "lock-date"]))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.lock_date == datetime.date(2026, 12, 31)
    page = admin_client.get(response.url).content.decode()
    assert "Xero is locked until 31 Dec 2026" in page


def post_policy(client, org, policy: str):
    """(the connection, the answer) to a new connection's policy set to `policy`."""
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="Books")
    url = reverse("integrations:locked-periods", args=[connection.pk])
    response = client.post(url, {"locked_period_policy": policy})
    connection.refresh_from_db()
    return connection, response


def test_an_admin_changes_the_policy_and_it_is_audited(admin_client, org):
    connection, response = post_policy(admin_client, org, "redate")
    assert response.status_code == 302
    assert connection.locked_period_policy == LockedPeriodPolicy.REDATE
    event = ConnectionEvent.objects.get(connection=connection)
    assert event.kind == ConnectionEventKind.POLICY_CHANGED
    assert event.actor == response.wsgi_request.user
    assert event.note == (
        "Locked periods: Hold it until the ledger's lock date moves → Re-date it to the first "
        "open day"
    )
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert "Locked-period policy changed" in page


def test_an_unknown_policy_is_a_form_error_and_changes_nothing(admin_client, org):
    connection, response = post_policy(admin_client, org, "ignore")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert connection.locked_period_policy == LockedPeriodPolicy.HOLD
    assert not ConnectionEvent.objects.filter(connection=connection).exists()


def test_only_admins_change_the_policy(client, org):
    client.force_login(MembershipFactory(org=org, role=Role.AP_CLERK).user)
    connection, response = post_policy(client, org, "redate")
    assert response.status_code in (302, 403)
    assert connection.locked_period_policy == LockedPeriodPolicy.HOLD


@pytest.mark.parametrize(
    ("method", "url_name", "data"),
    [
        ("post", "integrations:locked-periods", {"locked_period_policy": "redate"}),
        ("post", "integrations:action", None),
    ],
)
def test_another_organisations_connection_is_not_found(
    admin_client, other_org, method, url_name, data
):
    theirs = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    args = [theirs.pk] if url_name.endswith("locked-periods") else [theirs.pk, "lock-date"]
    assert_not_found_for_other_tenant(admin_client, method, reverse(url_name, args=args), data)
    theirs.refresh_from_db()
    assert theirs.locked_period_policy == LockedPeriodPolicy.HOLD
    assert theirs.lock_date_read_at is None
