"""Partner access: a partner key creates companies, gets a one-time connect link for each owner,
lists their connections' health and acts on each company with the organisation in the path;
per-organisation keys keep working; another partner's organisations answer 404 everywhere."""

import io
import re
import uuid

import pytest
from django.core.management import call_command
from django.urls import URLPattern

from accounts.models import ApiKey, Membership, Organization, Role
from api.urls import v1
from integrations.models import Connection, ConnectionStatus, Provider
from partners import services as partner_services
from partners.models import Partner, PartnerOrganization
from synclog.models import RecordStatus
from synclog.ratelimit import get_rate_limiter
from tests.api.conftest import error_fields, make_client
from tests.factories import DocumentFactory, SyncRecordFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def partner_client(name: str):
    """A partner and a client sending its key: yields (partner, client); afterwards the rate
    limiter forgets the keys of the organisations it made."""
    partner = Partner.objects.create(name=name)
    created = partner_services.partner_key_create(partner=partner, name="ERP", actor=None)
    yield partner, make_client(created.plaintext)
    for grant in PartnerOrganization.objects.filter(partner=partner):
        get_rate_limiter().reset(f"api-key:{grant.api_key_id}")


@pytest.fixture
def acme_partner():
    yield from partner_client("Acme Expenses")


@pytest.fixture
def rival_partner():
    yield from partner_client("Rival Cards")


def create_company(client, name="Initech") -> dict:
    response = client.post(
        "/api/v1/partner/organizations", {"name": name, "currency": "EUR"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_partner_creates_a_company_its_owner_signs_in_and_the_partner_acts_on_it(
    acme_partner, client
):
    partner, api = acme_partner
    company = create_company(api)
    org = Organization.objects.get(pk=company["id"])
    assert (org.name, org.currency, company["api_base"]) == (
        "Initech",
        "EUR",
        f"/api/v1/organizations/{org.pk}/",
    )
    assert [c["id"] for c in api.get("/api/v1/partner/organizations").json()["results"]] == [org.pk]

    # The one-time connect link: the owner creates their admin sign-in and lands on Integrations.
    link = api.post(f"/api/v1/partner/organizations/{org.pk}/connect-links")
    assert link.status_code == 201, link.content
    path = re.sub(r"^https?://[^/]+", "", link.json()["url"])
    assert client.get(path).status_code == 200
    response = client.post(
        path,
        {
            "username": "owner",
            "email": "owner@initech.test",
            "password1": "a long pass phrase 42",
            "password2": "a long pass phrase 42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/integrations/"
    membership = Membership.objects.get(user__username="owner")
    assert (membership.org, membership.role) == (org, Role.ADMIN)
    assert client.get("/integrations/").status_code == 200  # signed in, as its admin
    assert client.get(path).status_code == 410  # once only
    client.logout()
    assert client.get(path).status_code == 410

    # The company's ledger is connected (by the owner, through the OAuth pages): its health.
    connection = Connection.objects.create(
        org=org, provider=Provider.XERO, name="Xero", status=ConnectionStatus.ACTIVE
    )
    (health,) = api.get("/api/v1/partner/connections").json()["results"]
    assert (health["id"], health["organization"], health["healthy"]) == (
        connection.pk,
        org.pk,
        True,
    )
    document = DocumentFactory(org=org)
    SyncRecordFactory(connection=connection, document=document, status=RecordStatus.FAILED)
    (health,) = api.get("/api/v1/partner/connections").json()["results"]
    assert (health["healthy"], health["failed_records"]) == (False, 1)

    # Acting on the company: the organisation in the path, the usual endpoints.
    base = f"/api/v1/organizations/{org.pk}"
    contact = api.post(f"{base}/contacts", {"name": "Globex", "kind": "vendor"}, format="json")
    assert contact.status_code == 201, contact.content
    assert api.get(f"{base}/contacts").json()["results"][0]["name"] == "Globex"
    assert api.get(f"{base}/documents/{document.pk}").status_code == 200
    assert api.get(f"{base}/connections").json()["results"][0]["id"] == connection.pk
    # Without the organisation in the path a partner key is told where to go.
    response = api.get("/api/v1/documents")
    assert response.status_code == 403
    assert "/api/v1/organizations/{org_id}/" in response.json()["error"]["message"]


def test_a_granted_organisation_is_in_scope_until_its_key_is_revoked(acme_partner, org, other_org):
    partner, api = acme_partner
    call_command("partner_key", partner.name, "--grant", org.slug, stdout=io.StringIO())
    assert api.get(f"/api/v1/organizations/{org.pk}/documents").status_code == 200
    assert api.get(f"/api/v1/organizations/{other_org.pk}/documents").status_code == 404
    grant = PartnerOrganization.objects.get(partner=partner, org=org)
    # The organisation's admin sees the partner's access among its keys, and may revoke it.
    assert ApiKey.objects.for_org(org).filter(pk=grant.api_key_id, name=f"Partner {partner.name}")
    grant.api_key.revoked_at = grant.api_key.created_at
    grant.api_key.save()
    assert api.get(f"/api/v1/organizations/{org.pk}/documents").status_code == 404


def test_per_organisation_keys_keep_working_with_or_without_the_path(api, org, other_org):
    assert api.get("/api/v1/documents").status_code == 200
    assert api.get(f"/api/v1/organizations/{org.pk}/documents").status_code == 200
    assert api.get(f"/api/v1/organizations/{other_org.pk}/documents").status_code == 404
    # Nor can an organisation's key use the partner endpoints.
    assert api.get("/api/v1/partner/organizations").status_code == 403


def test_a_revoked_or_unknown_partner_key_is_401(acme_partner):
    partner, api = acme_partner
    company = create_company(api)
    partner_services.partner_key_revoke(api_key=partner.api_keys.get())
    assert api.get("/api/v1/partner/organizations").status_code == 401
    assert api.get(f"/api/v1/organizations/{company['id']}/documents").status_code == 401
    assert make_client("lsp_00000000_nope").get("/api/v1/partner/connections").status_code == 401


def test_company_validation(acme_partner):
    _, api = acme_partner
    response = api.post("/api/v1/partner/organizations", {"currency": "euro"}, format="json")
    assert set(error_fields(response)) == {"name", "currency"}


def _concrete(route: str) -> str:
    route = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), route)
    return re.sub(r"<int:\w+>", "1", route)


def test_every_endpoint_answers_404_for_another_partners_organisation(acme_partner, rival_partner):
    """The probe: every endpoint, every method, with the rival's company in the path."""
    _, api = acme_partner
    rival, rival_api = rival_partner
    ours = create_company(api, "Ours")
    theirs = create_company(rival_api, "Theirs")
    Connection.objects.create(
        org_id=theirs["id"], provider=Provider.XERO, name="Their Xero", status="active"
    )
    probed = 0
    for pattern in v1:
        assert isinstance(pattern, URLPattern)
        route = _concrete(str(pattern.pattern))
        for method in ("get", "post", "patch", "put", "delete"):
            url = f"/api/v1/organizations/{theirs['id']}/{route}"
            assert_not_found_for_other_tenant(api, method, url)
            probed += 1
    assert probed == 5 * len(v1)
    # The partner endpoints: the rival's company is not there either.
    for method, url in (
        ("get", f"/api/v1/partner/organizations/{theirs['id']}"),
        ("post", f"/api/v1/partner/organizations/{theirs['id']}/connect-links"),
    ):
        assert_not_found_for_other_tenant(api, method, url)
    assert [o["id"] for o in api.get("/api/v1/partner/organizations").json()["results"]] == [
        ours["id"]
    ]
    assert api.get("/api/v1/partner/connections").json()["results"] == []
    # And the rival still reaches its own.
    assert rival_api.get(f"/api/v1/organizations/{theirs['id']}/connections").status_code == 200
