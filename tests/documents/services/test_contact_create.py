import pytest

from documents.models import Category, Contact, ContactKind, Department
from documents.services import category_create, contact_create, department_create
from tests.documents.services.helpers import assert_refused

pytestmark = pytest.mark.django_db


# --- contacts ---------------------------------------------------------------------------------


def test_contact_create(org):
    contact = contact_create(
        org=org, name="  Paper Co  ", tax_number="GB123456789", email="ap@paper.example"
    )

    contact.refresh_from_db()
    assert contact.org == org
    assert contact.name == "Paper Co"
    assert contact.kind == ContactKind.VENDOR
    assert contact.tax_number == "GB123456789"
    assert contact.email == "ap@paper.example"


def test_contact_create_customer(org):
    contact = contact_create(org=org, name="Client Ltd", kind=ContactKind.CUSTOMER)

    contact.refresh_from_db()
    assert contact.kind == ContactKind.CUSTOMER
    assert Contact.objects.filter(org=org, kind=ContactKind.CUSTOMER).count() == 1


@pytest.mark.parametrize("name", ["", "   ", None])
def test_contact_create_refuses_missing_name(org, name):
    error = assert_refused(contact_create, "name", org=org, name=name)

    assert error.message_dict["name"] == ["Enter the contact's name."]


@pytest.mark.parametrize("kind", ["supplier", "", "VENDOR", None])
def test_contact_create_refuses_unknown_kind(org, kind):
    assert_refused(contact_create, "kind", org=org, name="Paper Co", kind=kind)


def test_contact_create_reports_name_and_kind_together(org):
    assert_refused(contact_create, "name", "kind", org=org, name="", kind="supplier")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": "N" * 201}, "name"),
        ({"tax_number": "T" * 51}, "tax_number"),
    ],
)
def test_contact_create_refuses_invalid_fields(org, kwargs, field):
    assert_refused(contact_create, field, **{"org": org, "name": "Paper Co", **kwargs})


# --- categories -------------------------------------------------------------------------------


def test_category_create(org):
    category = category_create(org=org, name="Travel", code="493")

    category.refresh_from_db()
    assert (category.org, category.name, category.code) == (org, "Travel", "493")


def test_category_create_refuses_duplicate_code(org, category):
    error = assert_refused(category_create, "code", org=org, name="Another", code=category.code)

    assert error.message_dict["code"] == ["A category with account code 429 exists already."]


def test_category_create_allows_code_used_by_another_org(org, foreign_category):
    category = category_create(org=org, name="Office", code=foreign_category.code)

    assert Category.objects.filter(code="429").count() == 2
    assert category.org == org


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "code": "500"}, "name"),
        ({"name": "Travel", "code": ""}, "code"),
        ({"name": "N" * 121, "code": "500"}, "name"),
        ({"name": "Travel", "code": "1" * 31}, "code"),
    ],
)
def test_category_create_refuses_invalid_fields(org, kwargs, field):
    assert_refused(category_create, field, org=org, **kwargs)


# --- departments ------------------------------------------------------------------------------


def test_department_create(org):
    department = department_create(org=org, name="Sales")

    department.refresh_from_db()
    assert (department.org, department.name) == (org, "Sales")


def test_department_create_refuses_duplicate_name(org, department):
    error = assert_refused(department_create, "name", org=org, name=department.name)

    assert error.message_dict["name"] == ["A department named Operations exists already."]


def test_department_create_allows_name_used_by_another_org(org, other_org):
    department_create(org=other_org, name="Sales")

    department = department_create(org=org, name="Sales")

    assert department.org == org
    assert Department.objects.filter(name="Sales").count() == 2


@pytest.mark.parametrize("name", ["", "N" * 121])
def test_department_create_refuses_invalid_name(org, name):
    assert_refused(department_create, "name", org=org, name=name)
