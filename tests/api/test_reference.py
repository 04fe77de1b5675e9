"""Contacts, categories and departments: list (filters), read, create; errors; isolation."""

import pytest

from documents.models import Category, Contact, Department
from tests.api.conftest import error_fields
from tests.factories import CategoryFactory, ContactFactory, DepartmentFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_contacts_list_filter_read_and_create(api, org):
    ContactFactory(org=org, name="Paper Co")
    ContactFactory(org=org, name="Big Customer", kind="customer")
    assert sorted(names(api.get("/api/v1/contacts"))) == ["Big Customer", "Paper Co"]
    assert names(api.get("/api/v1/contacts", {"kind": "customer"})) == ["Big Customer"]
    assert names(api.get("/api/v1/contacts", {"q": "paper"})) == ["Paper Co"]

    response = api.post(
        "/api/v1/contacts",
        {"name": "Toner Ltd", "email": "ap@toner.example", "tax_number": "GB1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "vendor" and body["email"] == "ap@toner.example"
    contact = Contact.objects.get(pk=body["id"])
    assert contact.org == org
    assert api.get(f"/api/v1/contacts/{contact.pk}").json()["name"] == "Toner Ltd"


def test_contact_validation_errors_name_their_fields(api):
    response = api.post(
        "/api/v1/contacts", {"name": "", "kind": "boss", "email": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert set(error_fields(response)) == {"name", "kind", "email"}
    assert response.json()["error"]["code"] == "invalid"


def test_categories_list_read_create_and_duplicate_code(api, org, category):
    assert names(api.get("/api/v1/categories")) == ["Office"]
    assert names(api.get("/api/v1/categories", {"q": "429"})) == ["Office"]
    response = api.post("/api/v1/categories", {"name": "Travel", "code": "493"}, format="json")
    assert response.status_code == 201
    assert Category.objects.get(pk=response.json()["id"]).code == "493"
    assert api.get(f"/api/v1/categories/{category.pk}").json()["code"] == "429"

    duplicate = api.post("/api/v1/categories", {"name": "Again", "code": "429"}, format="json")
    assert duplicate.status_code == 400
    assert "already" in error_fields(duplicate)["code"][0]
    missing = api.post("/api/v1/categories", {"name": "No code"}, format="json")
    assert error_fields(missing) == {"code": ["This field is required."]}


def test_departments_list_read_create_and_duplicate(api, org):
    sales = DepartmentFactory(org=org, name="Sales")
    assert names(api.get("/api/v1/departments")) == ["Sales"]
    assert api.get(f"/api/v1/departments/{sales.pk}").json() == {"id": sales.pk, "name": "Sales"}
    response = api.post("/api/v1/departments", {"name": "Ops"}, format="json")
    assert response.status_code == 201
    assert Department.objects.filter(org=org, name="Ops").exists()
    duplicate = api.post("/api/v1/departments", {"name": "Sales"}, format="json")
    assert duplicate.status_code == 400
    assert "name" in error_fields(duplicate)


def test_another_organisations_ids_are_404_and_its_rows_are_not_listed(api, other_org):
    contact = ContactFactory(org=other_org)
    category = CategoryFactory(org=other_org)
    department = DepartmentFactory(org=other_org)
    for url in (
        f"/api/v1/contacts/{contact.pk}",
        f"/api/v1/categories/{category.pk}",
        f"/api/v1/departments/{department.pk}",
        "/api/v1/contacts/999999",
    ):
        response = assert_not_found_for_other_tenant(api, "get", url)
        assert response.json()["error"]["code"] == "not_found"
    assert names(api.get("/api/v1/contacts")) == []
    assert names(api.get("/api/v1/categories")) == []
    assert names(api.get("/api/v1/departments")) == []


@pytest.mark.parametrize("url", ["/api/v1/contacts", "/api/v1/categories", "/api/v1/departments"])
def test_reference_endpoints_need_a_key(anonymous, url):
    assert anonymous.get(url).status_code == 401
    assert anonymous.post(url, {"name": "x", "code": "1"}, format="json").status_code == 401
