"""A document created, approved or paid over the API names the API key on its Details tab
("Approved … by API key Partner ERP"), as its sync attempts do; a user's approval keeps naming
the user."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from documents.models import Document, DocumentStatus
from tests.api.test_datasets import expense, push
from tests.api.test_documents import bill_body
from tests.factories import MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db

KEY = "API key Partner ERP"  # the `api` fixture's key is named "Partner ERP"


def details(client, document) -> str:
    response = client.get(reverse("documents:detail", args=[document.pk]))
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def field(page: str, name: str) -> str:
    """The text of the Details field `name` (its <dd>)."""
    match = re.search(rf"<dt>{name}</dt><dd>(.*?)</dd>", page)
    assert match, f"no {name} field"
    return match.group(1)


def payment_rows(page: str) -> str:
    return page[page.index('<table id="payments">') :].split("</table>")[0]


def test_a_bill_approved_with_a_key_says_by_the_key_on_its_details_tab(
    api, bill, client_for, clerk
):
    response = api.post(f"/api/v1/documents/{bill.pk}/approve")
    assert response.status_code == 200, response.content
    bill.refresh_from_db()
    assert (bill.approved_by, bill.approved_by_label) == (None, KEY)
    approved = field(details(client_for(clerk), bill), "Approved")
    assert approved.endswith(f" by {KEY}"), approved


def test_a_users_approval_names_the_user_and_no_key(bill, client_for, clerk):
    document_services.document_approve(document=bill, actor=clerk, actor_label=KEY)
    bill.refresh_from_db()
    assert (bill.approved_by, bill.approved_by_label) == (clerk, "")
    approved = field(details(client_for(clerk), bill), "Approved")
    assert approved.endswith(f" by {clerk.get_username()}"), approved


def test_a_bill_created_and_paid_with_a_key_says_so(api, vendor, client_for, clerk):
    created = api.post(
        "/api/v1/documents", bill_body(vendor, status="awaiting_approval"), format="json"
    )
    assert created.status_code == 201, created.content
    document = Document.objects.get(pk=created.json()["id"])
    assert api.post(f"/api/v1/documents/{document.pk}/approve").status_code == 200
    paid = api.post(
        f"/api/v1/documents/{document.pk}/payments",
        {"amount": "40.00", "paid_at": "2026-11-20"},
        format="json",
    )
    assert paid.status_code == 201, paid.content
    # And one recorded by a user, who stays named.
    document_services.payment_record(
        document=document, actor=clerk, amount="10.00", paid_at="2026-11-21"
    )

    page = details(client_for(clerk), document)
    assert field(page, "Created").endswith(f" by {KEY}")
    assert field(page, "Approved").endswith(f" by {KEY}")
    rows = payment_rows(page)
    assert f"<td>{KEY}</td></tr>" in rows
    assert f"<td>{clerk.get_username()}</td></tr>" in rows


def test_an_expense_dataset_item_says_created_and_approved_by_the_key(
    api, org, category, client_for, clerk
):
    assert push(api, [expense(1, category)]).status_code == 201
    document = Document.objects.get(org=org, number="txn-0001")
    assert document.status == DocumentStatus.APPROVED
    page = details(client_for(clerk), document)
    assert field(page, "Created").endswith(f" by {KEY}")
    assert field(page, "Approved").endswith(f" by {KEY}")


def test_another_organisation_can_neither_approve_nor_read_the_bill(
    api, other_api, other_org, bill, client_for
):
    assert_not_found_for_other_tenant(other_api, "post", f"/api/v1/documents/{bill.pk}/approve")
    bill.refresh_from_db()
    assert (bill.status, bill.approved_by_label) == (DocumentStatus.AWAITING_APPROVAL, "")
    assert api.post(f"/api/v1/documents/{bill.pk}/approve").status_code == 200
    outsider = client_for(MembershipFactory(org=other_org, role=Role.ADMIN).user)
    assert_not_found_for_other_tenant(outsider, "get", reverse("documents:detail", args=[bill.pk]))
