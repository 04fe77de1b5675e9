"""Mapping options and mappings over the API: a partner reads what the ledger offers, reads and
sets a company's mappings, and fixes a 4000 missing-mapping failure that the transaction names in
a machine-readable field, without our pages."""

import pytest

from documents import services as document_services
from integrations.models import ConnectionStatus, Mapping, MappingKind
from tests.api.conftest import error_fields
from tests.factories import CategoryFactory, ContactFactory, DepartmentFactory, DocumentFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def options_url(connection) -> str:
    return f"/api/v1/connections/{connection.pk}/mapping-options"


def mappings_url(connection) -> str:
    return f"/api/v1/connections/{connection.pk}/mappings"


def test_mapping_options_are_the_ledgers_accounts_tax_rates_tracking_and_bank_accounts(
    api, connection
):
    response = api.get(options_url(connection))
    assert response.status_code == 200, response.content
    options = response.json()
    codes = {a["code"] for a in options["accounts"]}
    # Expense and revenue accounts a category books to: no bank, system or archived account.
    assert {"429", "200", "469"} <= codes
    assert not codes & {"090", "800", "477"}
    assert [a["code"] for a in options["bank_accounts"]] == ["090", "091"]
    taxes = {t["tax_type"]: t for t in options["tax_rates"]}
    assert taxes["INPUT"] == {"tax_type": "INPUT", "name": "Tax on Purchases", "rate": "8.50"}
    assert "NONE" in taxes
    (department,) = options["tracking_categories"]
    assert department["name"] == "Department"
    assert [o["name"] for o in department["options"]][:2] == ["Sales", "Operations"]
    assert "Old Vendor Inc" not in {c["name"] for c in options["contacts"]}  # archived


def test_a_4000_names_the_missing_mapping_and_the_partner_fixes_it_over_the_api(
    api, org, vendor, connection, drain
):
    travel = CategoryFactory(org=org, name="Travel", code="999")
    sales = DepartmentFactory(org=org, name="Sales team")
    document = DocumentFactory(
        org=org, contact=vendor, category=travel, department=sales, number="T-1"
    )
    document_services.document_approve(document=document, actor=None)
    drain()
    sync = api.post("/api/v1/syncs", {"document_ids": [document.pk]}, format="json").json()
    drain()
    assert api.get(f"/api/v1/syncs/{sync['id']}").json()["status_code"] == 4000
    (item,) = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"]
    # The department is checked first: it is what the transaction names.
    assert item["error"]["missing_mapping"] == {
        "kind": "tracking",
        "local_id": sales.pk,
        "name": "Sales team",
    }
    attempts = api.get(f"/api/v1/documents/{document.pk}/attempts").json()["results"]
    assert attempts[0]["missing_mapping"] == item["error"]["missing_mapping"]

    options = api.get(options_url(connection)).json()
    option = options["tracking_categories"][0]["options"][0]
    account = next(a for a in options["accounts"] if a["code"] == "493")
    response = api.patch(
        mappings_url(connection),
        {
            "tracking": [{"department_id": sales.pk, "tracking_option_id": option["id"]}],
            "accounts": [{"category_id": travel.pk, "account_id": account["id"]}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    mapped = response.json()
    assert next(m for m in mapped["accounts"] if m["category_id"] == travel.pk)["account"] == {
        "id": account["id"],
        "code": "493",
        "name": "Travel - National",
    }
    assert next(m for m in mapped["tracking"] if m["department_id"] == sales.pk)[
        "tracking_option"
    ] == {
        "id": option["id"],
        "name": option["name"],
        "category_id": options["tracking_categories"][0]["id"],
        "category_name": "Department",
    }
    assert mapped["payment_bank_account_code"] == "090"  # not sent: unchanged
    assert api.get(mappings_url(connection)).json() == mapped

    retry = api.post(f"/api/v1/syncs/{sync['id']}/retry-failed")
    assert retry.status_code == 202, retry.content
    drain()
    assert api.get(f"/api/v1/syncs/{retry.json()['id']}").json()["status_code"] == 2000


def test_a_missing_payment_bank_account_is_named_too(api, org, vendor, category, connection, drain):
    connection.settings = {**connection.settings, "payment_account_code": ""}
    connection.save()
    document = DocumentFactory(org=org, contact=vendor, category=category, number="P-1")
    document_services.document_approve(document=document, actor=None)
    document_services.payment_record(
        document=document, amount=document.total, paid_at=document.issue_date, actor=None
    )
    drain()
    attempts = api.get(f"/api/v1/documents/{document.pk}/attempts").json()["results"]
    failed = [a for a in attempts if a["status_code"] == 4000]
    assert failed and failed[0]["missing_mapping"] == {
        "kind": "payment_bank_account",
        "local_id": None,
        "name": "Payment bank account",
    }
    response = api.patch(
        mappings_url(connection), {"payment_bank_account_code": "091"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["payment_bank_account_code"] == "091"


def test_unknown_ids_are_400_field_errors_and_nothing_changes(api, org, vendor, connection):
    travel = CategoryFactory(org=org, name="Travel", code="999")
    response = api.patch(
        mappings_url(connection),
        {
            "accounts": [
                {"category_id": travel.pk, "account_id": "no-such-account"},
                {"category_id": 999999, "account_id": ""},
            ],
            "contacts": [{"vendor_id": vendor.pk, "contact_id": "no-such-contact"}],
            "tracking": [{"department_id": 1, "tracking_option_id": "x"}],
            "payment_bank_account_code": "429",  # an expense account, not a bank one
        },
        format="json",
    )
    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {
        "accounts.0.account_id",
        "accounts.1.category_id",
        "contacts.0.contact_id",
        "tracking.0.department_id",
        "tracking.0.tracking_option_id",
        "payment_bank_account_code",
    }
    assert not Mapping.objects.filter(connection=connection, local_id=travel.pk).exists()
    # A bank account is not a category's account either.
    bank = api.get(options_url(connection)).json()["bank_accounts"][0]
    response = api.patch(
        mappings_url(connection),
        {"accounts": [{"category_id": travel.pk, "account_id": bank["id"]}]},
        format="json",
    )
    assert list(error_fields(response)) == ["accounts.0.account_id"]


def test_null_unmaps_and_a_vendor_maps_to_a_ledger_contact(api, org, vendor, category, connection):
    contact = next(
        c for c in api.get(options_url(connection)).json()["contacts"] if c["name"] == vendor.name
    )
    response = api.patch(
        mappings_url(connection),
        {
            "contacts": [{"vendor_id": vendor.pk, "contact_id": contact["id"]}],
            "accounts": [{"category_id": category.pk, "account_id": None}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert next(m for m in body["contacts"] if m["vendor_id"] == vendor.pk)["contact"] == contact
    assert next(m for m in body["accounts"] if m["category_id"] == category.pk)["account"] is None
    assert not Mapping.objects.filter(
        connection=connection, kind=MappingKind.ACCOUNT, local_id=category.pk
    ).exists()


def test_another_organisations_ids_are_404_or_unknown(
    api, other_api, org, other_org, vendor, connection
):
    for url in (options_url(connection), mappings_url(connection)):
        assert_not_found_for_other_tenant(other_api, "get", url)
    assert_not_found_for_other_tenant(other_api, "patch", mappings_url(connection))
    # Another organisation's category, department and vendor ids do not exist here.
    theirs = {
        "category": CategoryFactory(org=other_org),
        "department": DepartmentFactory(org=other_org),
        "vendor": ContactFactory(org=other_org),
    }
    account = api.get(options_url(connection)).json()["accounts"][0]
    response = api.patch(
        mappings_url(connection),
        {
            "accounts": [{"category_id": theirs["category"].pk, "account_id": account["id"]}],
            "tracking": [{"department_id": theirs["department"].pk, "tracking_option_id": ""}],
            "contacts": [{"vendor_id": theirs["vendor"].pk, "contact_id": ""}],
        },
        format="json",
    )
    assert set(error_fields(response)) == {
        "accounts.0.category_id",
        "tracking.0.department_id",
        "contacts.0.vendor_id",
    }
    assert not Mapping.objects.filter(local_id=theirs["category"].pk).exists()
    ids = {m["category_id"] for m in api.get(mappings_url(connection)).json()["accounts"]}
    assert theirs["category"].pk not in ids


def test_a_connection_to_reconnect_answers_409(api, connection):
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.save()
    response = api.get(options_url(connection))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "connection_needs_reconnect"
