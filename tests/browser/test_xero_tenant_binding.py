"""Which Xero organisation a new connection pushes to: only the tenants of *this* consent
(`GET /connections?authEventId=`), chosen on our page when there are several, and Disconnect
removes only our own link at the ledger.

The emulator runs as a real HTTP server (the consent page is opened by the browser); pushes run
in the test process, as a worker would run them.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from integrations.models import Connection, ConnectionStatus, Provider
from synclog.ratelimit import get_rate_limiter
from tests.browser.conftest import MAPPINGS_URL, message, push_pending
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import credentials_from_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "Demo Company (Emulated)"
GLOBEX = "Globex (Emulated)"
CHOOSE_URL = re.compile(r"/integrations/choose/$")


def demo_connected_elsewhere(emulator, url):
    """Demo Inc (another organisation here) is connected to Demo's tenant by the same Xero user
    who later consents for Globex: that user's connections list holds both tenants."""
    demo_admin = MembershipFactory(role=Role.ADMIN, org__name="Demo Inc")
    token = emulator.connect(tenant_ids=[emulator.default_tenant_id])
    (link,) = emulator.state()["connections"]
    connection = Connection.objects.create(
        org=demo_admin.org,
        provider=Provider.XERO,
        name="Xero",
        base_url=url,
        tenant_id=emulator.default_tenant_id,
        tenant_name=DEMO,
        ledger_connection_id=link["id"],
    )
    connection.credentials = credentials_from_token(token).to_dict()
    connection.save()
    return connection, link


def start_connecting(page, url):
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_label("Emulator address").fill(url)
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url(f"{url}/identity/connect/authorize?*")


def test_globex_consenting_to_globex_only_is_bound_pushed_and_disconnected_there_only(
    page, live_server, screenshot, sign_in_as, xero_emulator_server, enqueued
):
    url, emulator = xero_emulator_server
    globex_tenant = emulator.add_tenant(GLOBEX)["tenantId"]
    demo_connection, demo_link = demo_connected_elsewhere(emulator, url)

    admin = MembershipFactory(role=Role.ADMIN, org__name="Globex Corp")
    globex = admin.org
    clerk = MembershipFactory(org=globex, role=Role.AP_CLERK).user
    office = CategoryFactory(org=globex, name="Office", code="429")
    bills = [DocumentFactory(org=globex, category=office, number=f"GLX-{n}") for n in range(3)]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)

    # Consent to Globex only: the consent page lists both of the user's organisations.
    sign_in_as(admin.user.username)
    start_connecting(page, url)
    expect(page.get_by_label(DEMO)).to_be_checked()
    page.get_by_label(DEMO).uncheck()
    expect(page.get_by_label(GLOBEX)).to_be_checked()
    screenshot("xero-consent-globex-only")
    page.get_by_role("button", name="Allow access").click()

    page.wait_for_url(MAPPINGS_URL)
    expect(message(page, f"Connected to {GLOBEX}.")).to_be_visible()
    connection = Connection.objects.get(org=globex)
    assert (connection.tenant_id, connection.tenant_name) == (globex_tenant, GLOBEX)
    globex_link = next(c for c in emulator.state()["connections"] if c["tenantId"] == globex_tenant)
    assert connection.ledger_connection_id == globex_link["id"]

    # Map by account code, then Force sync: Globex's bills go to Globex's ledger only.
    page.get_by_role("button", name="Map categories by account code").click()
    expect(message(page, "mapped by account code")).to_be_visible()
    get_rate_limiter().reset(f"connection:{connection.pk}")
    page.get_by_role("link", name=connection.name).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Force sync").click()
    expect(message(page, "Force sync started: 3 entries to push.")).to_be_visible()
    push_pending(rounds=20)
    assert sorted(i["InvoiceNumber"] for i in emulator.invoices(globex_tenant)) == [
        "GLX-0",
        "GLX-1",
        "GLX-2",
    ]
    assert emulator.invoices(emulator.default_tenant_id) == []
    assert emulator.call_count(emulator.default_tenant_id) == 0

    # Disconnect Globex: its own link goes at the ledger; Demo's stays and still works.
    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#connection-status")).to_have_text("Disconnected")
    screenshot("xero-globex-disconnected")
    links = emulator.state()["connections"]
    assert [(c["id"], c["tenantId"]) for c in links] == [(demo_link["id"], demo_link["tenantId"])]
    demo_connection.refresh_from_db()
    assert demo_connection.status == ConnectionStatus.ACTIVE
    from integrations.services import connection_test

    assert connection_test(connection=demo_connection).tenant_name == DEMO


def test_a_consent_with_two_organisations_is_chosen_on_our_page(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    url, emulator = xero_emulator_server
    globex_tenant = emulator.add_tenant(GLOBEX)["tenantId"]
    demo_connected_elsewhere(emulator, url)
    # A bookkeeper's Xero login with access to both organisations.
    emulator.add_user("books@globex.test", [emulator.default_tenant_id, globex_tenant])
    admin = MembershipFactory(role=Role.ADMIN, org__name="Globex Corp")

    sign_in_as(admin.user.username)
    start_connecting(page, url)
    page.get_by_label("Email address").select_option("books@globex.test")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#signed-in-as")).to_have_text("Signed in as books@globex.test")
    expect(page.get_by_label(DEMO)).to_be_checked()
    expect(page.get_by_label(GLOBEX)).to_be_checked()
    page.get_by_role("button", name="Allow access").click()

    # Two organisations in this consent: we ask, and nothing is bound until the admin chooses.
    page.wait_for_url(CHOOSE_URL)
    expect(page.get_by_role("heading", name="Choose the ledger organisation")).to_be_visible()
    demo_choice = page.locator("label").filter(has_text=DEMO)
    expect(demo_choice).to_contain_text("already connected to another organisation")
    expect(page.locator("label").filter(has_text=GLOBEX)).not_to_contain_text("already")
    screenshot("xero-choose-tenant")
    assert not Connection.objects.filter(org=admin.org).exists()

    # Demo's organisation is bound to another organisation here: refused without confirming.
    page.get_by_label(DEMO).check()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("already connected to another organisation")
    assert not Connection.objects.filter(org=admin.org).exists()

    page.get_by_label(GLOBEX).check()
    page.get_by_role("button", name="Connect", exact=True).click()
    page.wait_for_url(MAPPINGS_URL)
    expect(message(page, f"Connected to {GLOBEX}.")).to_be_visible()
    connection = Connection.objects.get(org=admin.org)
    assert (connection.tenant_id, connection.tenant_name) == (globex_tenant, GLOBEX)
    books = next(u for u in emulator.state()["users"] if u["email"] == "books@globex.test")
    link = next(
        c
        for c in emulator.state()["connections"]
        if c["tenantId"] == globex_tenant and c["userId"] == books["userId"]
    )
    assert connection.ledger_connection_id == link["id"]
