"""A user of org A asking for org B's objects by id gets 404 and changes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.urls import reverse

from accounts.models import Role
from documents import selectors
from documents.models import Attachment, Document, DocumentStatus, Payment
from tests.factories import ContactFactory, DocumentFactory, MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant


@pytest.fixture
def foreign_bill(other_org):
    return DocumentFactory(org=other_org, status=DocumentStatus.AWAITING_APPROVAL)


@pytest.mark.parametrize(
    ("method", "url_name", "data"),
    [
        ("get", "documents:detail", None),
        ("get", "documents:edit", None),
        ("post", "documents:edit", {"number": "HIJACK", "form-TOTAL_FORMS": "0"}),
        ("post", "documents:submit", None),
        ("post", "documents:approve", None),
        ("get", "documents:pay", None),
        ("post", "documents:pay", {"amount": "1.00", "paid_at": "2026-11-05"}),
        ("post", "documents:mark-paid", None),
        ("post", "documents:void", None),
    ],
)
def test_other_tenants_document_is_not_found(admin_client, foreign_bill, method, url_name, data):
    before = Document.objects.values().get(pk=foreign_bill.pk)
    url = reverse(url_name, args=[foreign_bill.pk])
    assert_not_found_for_other_tenant(admin_client, method, url, data)
    assert Document.objects.values().get(pk=foreign_bill.pk) == before
    assert Payment.objects.filter(document=foreign_bill).count() == 0


def test_other_tenants_attachment_upload_and_download(
    admin_client, foreign_bill, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("r.pdf", b"%PDF-1.4 x", "application/pdf")
    url = reverse("documents:attachment-upload", args=[foreign_bill.pk])
    assert_not_found_for_other_tenant(admin_client, "post", url, {"file": upload})
    assert Attachment.objects.count() == 0

    attachment = Attachment.objects.create(
        org=foreign_bill.org,
        document=foreign_bill,
        file=SimpleUploadedFile("secret.pdf", b"%PDF-1.4 secret"),
        filename="secret.pdf",
        content_type="application/pdf",
        size=15,
    )
    url = reverse("documents:attachment-download", args=[attachment.pk])
    assert_not_found_for_other_tenant(admin_client, "get", url)


def test_list_shows_only_own_documents(admin_client, org, foreign_bill):
    own = DocumentFactory(org=org)
    response = admin_client.get(reverse("documents:list"))
    numbers = [document.number for document in response.context["page"]]
    assert numbers == [own.number]


def test_list_filter_by_other_tenants_contact_finds_nothing(admin_client, org, foreign_bill):
    DocumentFactory(org=org)
    response = admin_client.get(reverse("documents:list"), {"contact": foreign_bill.contact_id})
    assert list(response.context["page"]) == []
    assert "contact" in response.context["filter"].errors


def test_create_with_other_tenants_contact_is_refused(admin_client, org, other_org):
    foreign_vendor = ContactFactory(org=other_org)
    response = admin_client.post(
        reverse("documents:create"),
        {
            "kind": "bill",
            "number": "X-1",
            "contact": foreign_vendor.pk,
            "issue_date": "2026-11-01",
            "due_date": "2026-11-30",
            "currency": "EUR",
            "total": "10.00",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "0",
            "form-0-description": "Paper",
            "form-0-quantity": "1",
            "form-0-unit_amount": "10.00",
        },
    )
    assert response.status_code == 400
    assert "contact" in response.context["form"].errors
    assert Document.objects.count() == 0


def test_selectors_treat_other_tenants_ids_as_missing(org, foreign_bill):
    from documents import services

    services.document_approve(document=foreign_bill, actor=None)
    payment = services.payment_record(
        document=foreign_bill, actor=None, amount="5.00", paid_at="2026-11-05"
    )
    for lookup, object_id in [
        (selectors.document_get, {"document_id": foreign_bill.pk}),
        (selectors.contact_get, {"contact_id": foreign_bill.contact_id}),
        (selectors.payment_get, {"payment_id": payment.pk}),
    ]:
        with pytest.raises(Http404):
            lookup(org=org, **object_id)
    assert selectors.payment_get(org=foreign_bill.org, payment_id=payment.pk) == payment


def test_switching_to_an_organisation_of_which_one_is_not_a_member(client, org, other_org):
    user = MembershipFactory(org=org, role=Role.AP_CLERK).user
    client.force_login(user)
    client.post(reverse("organization-switch"), {"org_id": other_org.pk})
    response = client.get(reverse("documents:list"))
    assert response.context["current_org"] == org


def test_switching_between_own_organisations(client, org, other_org):
    user = MembershipFactory(org=org, role=Role.AP_CLERK).user
    MembershipFactory(org=other_org, user=user, role=Role.SUPPORT)
    own_bill = DocumentFactory(org=other_org)
    client.force_login(user)
    client.post(reverse("organization-switch"), {"org_id": other_org.pk})
    response = client.get(reverse("documents:list"))
    assert response.context["current_org"] == other_org
    assert [document.pk for document in response.context["page"]] == [own_bill.pk]
    # The role follows the organisation: support in Globex may not create documents.
    assert client.get(reverse("documents:create")).status_code == 302
