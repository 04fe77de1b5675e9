"""Integrations pages with the Django test client; the ledger is the in-process Xero emulator."""

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.urls import reverse

from accounts.models import Role
from integrations.emulators.xero import EmulatorTransport
from integrations.models import (
    Connection,
    ConnectionEventKind,
    ConnectionStatus,
    Mapping,
    MappingKind,
    Provider,
)
from tests.factories import CategoryFactory, DepartmentFactory, MembershipFactory
from tests.ledger_fixtures import EMULATOR_URL
from tests.tenancy import assert_not_found_for_other_tenant


def consent(emulator, authorize_url: str, action: str = "allow") -> str:
    """What the user's browser does on the ledger's consent page; returns our callback URL."""
    params = dict(parse_qsl(urlsplit(authorize_url).query))
    with httpx.Client(transport=EmulatorTransport(emulator)) as browser:
        answer = browser.post(authorize_url, data={**params, "action": action})
    assert answer.status_code == 302
    return answer.headers["Location"]


def connect(admin_client, ledger, name="Books") -> Connection:
    response = admin_client.post(
        reverse("integrations:list"),
        {"provider": "xero", "name": name, "base_url": EMULATOR_URL},
    )
    assert response.status_code == 302
    assert response.url.startswith(f"{EMULATOR_URL}/identity/connect/authorize?")
    callback = consent(ledger, response.url)
    done = admin_client.get(callback)
    assert done.status_code == 302, done.content[:300]
    return Connection.objects.get(name=name)


def test_connect_over_oauth(admin_client, ledger, org):
    connection = connect(admin_client, ledger)
    assert connection.org == org
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.tenant_id == ledger.default_tenant_id
    assert connection.tenant_name == "Demo Company (Emulated)"
    assert connection.base_url == EMULATOR_URL
    assert set(connection.credentials) >= {"access_token", "refresh_token", "expires_at"}
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    # Secrets never reach a page.
    assert connection.credentials["access_token"] not in page
    assert connection.credentials["refresh_token"] not in page


def test_connecting_the_same_ledger_again_reconnects_instead_of_a_second_connection(
    admin_client, ledger, org
):
    # An admin unsure whether the first Connect worked presses it again: a second live
    # connection would push every document to the same ledger a second time.
    first = connect(admin_client, ledger, name="Books")
    old_token = first.credentials["access_token"]
    response = admin_client.post(
        reverse("integrations:list"), {"provider": "xero", "name": "", "base_url": EMULATOR_URL}
    )
    done = admin_client.get(consent(ledger, response.url))
    assert done.status_code == 302
    assert Connection.objects.filter(org=org).count() == 1
    first.refresh_from_db()
    assert (first.name, first.status) == ("Books", ConnectionStatus.ACTIVE)
    assert first.credentials["access_token"] != old_token
    kinds = list(first.events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [ConnectionEventKind.CONNECTED, ConnectionEventKind.RECONNECTED]

    # Disconnected, then connected again from the same form: the same connection comes back
    # (its records know which entries and payments are in that ledger already).
    admin_client.post(reverse("integrations:action", args=[first.pk, "disconnect"]))
    response = admin_client.post(
        reverse("integrations:list"), {"provider": "xero", "name": "", "base_url": EMULATOR_URL}
    )
    admin_client.get(consent(ledger, response.url))
    assert list(Connection.objects.filter(org=org).values_list("pk", "status")) == [
        (first.pk, ConnectionStatus.ACTIVE)
    ]


def test_consent_cancelled_connects_nothing(admin_client, ledger):
    response = admin_client.post(
        reverse("integrations:list"), {"provider": "xero", "name": "X", "base_url": EMULATOR_URL}
    )
    callback = consent(ledger, response.url, action="cancel")
    answer = admin_client.get(callback, follow=True)
    assert "did not grant access" in answer.content.decode()
    assert Connection.objects.count() == 0


def test_callback_with_a_forged_state_is_refused(admin_client, ledger):
    admin_client.post(
        reverse("integrations:list"), {"provider": "xero", "name": "X", "base_url": EMULATOR_URL}
    )
    answer = admin_client.get(
        reverse("integrations:callback"), {"code": "stolen", "state": "forged"}, follow=True
    )
    assert "expired or was not started here" in answer.content.decode()
    assert Connection.objects.count() == 0


@pytest.mark.parametrize(
    "address", ["http://10.1.2.3:8123", "http://127.0.0.1:5432", "http://localhost:8123"]
)
def test_an_address_other_than_the_configured_emulator_is_refused(admin_client, ledger, address):
    # Loopback is not enough: the server would send the app's client secret to that port.
    response = admin_client.post(
        reverse("integrations:list"), {"provider": "xero", "name": "X", "base_url": address}
    )
    assert response.status_code == 400
    assert "Only the configured ledger emulator" in response.content.decode()
    assert EMULATOR_URL in response.content.decode()


def test_mappings_page_reads_the_ledger_and_saves(admin_client, ledger, org):
    connection = connect(admin_client, ledger)
    travel = CategoryFactory(org=org, name="Travel", code="493")
    odd = CategoryFactory(org=org, name="Odd", code="000")
    sales = DepartmentFactory(org=org, name="Sales")
    url = reverse("integrations:mappings", args=[connection.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    account_choices = dict(form.fields[f"account_{travel.pk}"].choices)
    travel_account = next(key for key, label in account_choices.items() if label.startswith("493"))
    option = next(
        key
        for key, label in form.fields[f"tracking_{sales.pk}"].choices
        if label == "Department: Sales"
    )
    saved = admin_client.post(
        url,
        {
            f"account_{travel.pk}": travel_account,
            f"tracking_{sales.pk}": option,
            "payment_account_code": "090",
        },
    )
    assert saved.status_code == 302
    mapping = Mapping.objects.get(kind=MappingKind.ACCOUNT, local_id=travel.pk)
    assert (mapping.external_id, mapping.extra["code"]) == (travel_account, "493")
    tracking = Mapping.objects.get(kind=MappingKind.TRACKING, local_id=sales.pk)
    assert tracking.extra == {
        "category_id": tracking.extra["category_id"],
        "category_name": "Department",
        "option_name": "Sales",
    }
    connection.refresh_from_db()
    assert connection.settings["payment_account_code"] == "090"
    assert not Mapping.objects.filter(local_id=odd.pk).exists()

    bad = admin_client.post(url, {"payment_account_code": "429"})
    assert bad.status_code == 400


def test_auto_map_by_account_code(admin_client, ledger, org):
    connection = connect(admin_client, ledger)
    office = CategoryFactory(org=org, name="Office", code="429")
    CategoryFactory(org=org, name="Unknown", code="000")
    admin_client.post(reverse("integrations:mappings", args=[connection.pk]), {"auto_map": "1"})
    assert list(Mapping.objects.values_list("local_id", "extra__code")) == [(office.pk, "429")]


def test_test_disable_disconnect_reconnect(admin_client, ledger):
    connection = connect(admin_client, ledger)

    def act(action):
        return admin_client.post(
            reverse("integrations:action", args=[connection.pk, action]), follow=True
        )

    assert "Connection works: connected to Demo Company (Emulated)" in act("test").content.decode()
    act("disable")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED
    act("enable")
    act("disconnect")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.credentials_encrypted == ""
    assert Connection.objects.filter(pk=connection.pk).exists()
    # Access was revoked at the ledger too.
    assert ledger.state()["connections"] == []

    response = admin_client.post(reverse("integrations:action", args=[connection.pk, "reconnect"]))
    admin_client.get(consent(ledger, response.url))
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.has_credentials
    assert Connection.objects.count() == 1


def test_revoked_access_marks_the_connection_needs_reauth(admin_client, ledger):
    connection = connect(admin_client, ledger)
    ledger.revoke_tokens()
    answer = admin_client.post(
        reverse("integrations:action", args=[connection.pk, "test"]), follow=True
    )
    assert "reconnect" in answer.content.decode().lower()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT])
def test_only_admins_manage_integrations(client, org, role):
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="X")
    client.force_login(MembershipFactory(org=org, role=role).user)
    for url in (
        reverse("integrations:list"),
        reverse("integrations:detail", args=[connection.pk]),
        reverse("integrations:mappings", args=[connection.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    action = reverse("integrations:action", args=[connection.pk, "disconnect"])
    assert client.post(action).status_code == 403
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE


@pytest.mark.parametrize(
    ("method", "url_name", "extra"),
    [
        ("get", "integrations:detail", []),
        ("get", "integrations:mappings", []),
        ("post", "integrations:mappings", []),
        ("post", "integrations:action", ["disconnect"]),
        ("post", "integrations:action", ["reconnect"]),
        ("post", "integrations:action", ["test"]),
    ],
)
def test_other_tenants_connection_is_not_found(admin_client, other_org, method, url_name, extra):
    foreign = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    foreign.credentials = {"access_token": "theirs"}
    foreign.save()
    assert_not_found_for_other_tenant(
        admin_client, method, reverse(url_name, args=[foreign.pk, *extra])
    )
    foreign.refresh_from_db()
    assert foreign.status == ConnectionStatus.ACTIVE
    assert foreign.credentials == {"access_token": "theirs"}


def test_list_shows_only_own_connections(admin_client, org, other_org):
    Connection.objects.create(org=org, provider=Provider.XERO, name="Ours")
    Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    page = admin_client.get(reverse("integrations:list")).content.decode()
    assert "Ours" in page and "Theirs" not in page


def test_quickbooks_with_the_xero_emulators_address_says_which_address(admin_client, ledger):
    # The form prefills Xero's emulator; an admin who chose QuickBooks is told its address.
    response = admin_client.post(
        reverse("integrations:list"),
        {"provider": "quickbooks", "name": "Q", "base_url": EMULATOR_URL},
    )
    assert response.status_code == 400
    assert "QuickBooks Online&#x27;s is at http://127.0.0.1:8125" in response.content.decode()
    assert Connection.objects.count() == 0


def test_a_quickbooks_callback_without_its_company_connects_nothing(admin_client, ledger, settings):
    # Intuit names the company (realmId) on the redirect only: without it there is no company to
    # push to, and the code is not even exchanged.
    response = admin_client.post(
        reverse("integrations:list"),
        {"provider": "quickbooks", "name": "Q", "base_url": settings.QBO_EMULATOR_URL},
    )
    assert response.status_code == 302
    assert response.url.startswith(f"{settings.QBO_EMULATOR_URL}/connect/oauth2?")
    state = dict(parse_qsl(urlsplit(response.url).query))["state"]
    answer = admin_client.get(
        reverse("integrations:callback"), {"code": "a-code", "state": state}, follow=True
    )
    assert "The sign-in finished without naming the QuickBooks company." in answer.content.decode()
    assert Connection.objects.count() == 0


@pytest.mark.parametrize(
    ("provider", "empty", "says"),
    [
        (Provider.XERO, "— match by name —", "matched in the ledger by name"),
        (Provider.QUICKBOOKS, "— not mapped —", "QuickBooks Online takes a vendor only as one"),
        (Provider.MYOB, "— not mapped —", "MYOB Business takes a vendor only as one"),
    ],
)
def test_the_vendors_section_says_whether_the_ledger_matches_them_by_name(
    admin_client, org, vendor, ledger_books, provider, empty, says
):
    """Seen on the demo: QuickBooks' and MYOB's mappings offered "— match by name —" for a
    vendor, which those ledgers never do (an unmapped vendor fails the push)."""
    connection = ledger_books.connect_org(org)
    page = admin_client.get(reverse("integrations:mappings", args=[connection.pk]))
    field = page.context["form"].fields[f"contact_{vendor.pk}"]
    assert field.choices[0] == ("", empty)
    assert says in page.content.decode()
