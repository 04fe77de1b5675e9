"""Each role × each page and action: allowed, sent to sign-in (pages), or 403 (actions)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from documents.models import DocumentStatus
from tests.factories import DocumentFactory, MembershipFactory

ALLOWED, SIGN_IN, FORBIDDEN = "allowed", "sign-in", "403"
ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT

# (name, method, url name, status of the document it needs, who may)
MATRIX = [
    ("documents list", "get", "documents:list", None, {ADMIN, CLERK, ACCOUNTING, SUPPORT}),
    (
        "document detail",
        "get",
        "documents:detail",
        "awaiting_approval",
        {ADMIN, CLERK, ACCOUNTING, SUPPORT},
    ),
    ("new document form", "get", "documents:create", None, {ADMIN, CLERK}),
    ("create document", "post", "documents:create", None, {ADMIN, CLERK}),
    ("edit form", "get", "documents:edit", "awaiting_approval", {ADMIN, CLERK}),
    ("edit document", "post", "documents:edit", "awaiting_approval", {ADMIN, CLERK}),
    ("submit", "post", "documents:submit", "draft", {ADMIN, CLERK}),
    ("approve", "post", "documents:approve", "awaiting_approval", {ADMIN, CLERK}),
    ("payment form", "get", "documents:pay", "approved", {ADMIN, CLERK}),
    ("record payment", "post", "documents:pay", "approved", {ADMIN, CLERK}),
    ("mark paid", "post", "documents:mark-paid", "approved", {ADMIN, CLERK}),
    ("void", "post", "documents:void", "approved", {ADMIN, CLERK}),
    ("attach file", "post", "documents:attachment-upload", "approved", {ADMIN, CLERK}),
]


def _post_data(url_name, document, vendor):
    if url_name in ("documents:create", "documents:edit"):
        return {
            "kind": "bill",
            "number": "NEW-1",
            "contact": vendor.pk,
            "issue_date": "2026-11-01",
            "due_date": "2026-11-30",
            "currency": "EUR",
            "total": "100.00",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "0",
            "form-0-description": "Paper",
            "form-0-quantity": "1",
            "form-0-unit_amount": "100.00",
        }
    if url_name == "documents:pay":
        return {"amount": "10.00", "paid_at": datetime.date(2026, 11, 5).isoformat()}
    if url_name == "documents:attachment-upload":
        return {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.4 receipt", "application/pdf")}
    return {}


@pytest.mark.parametrize("role", [ADMIN, CLERK, ACCOUNTING, SUPPORT])
@pytest.mark.parametrize(
    ("name", "method", "url_name", "status", "allowed_roles"),
    MATRIX,
    ids=[row[0] for row in MATRIX],
)
def test_role_matrix(
    client, org, vendor, settings, tmp_path, role, name, method, url_name, status, allowed_roles
):
    settings.MEDIA_ROOT = tmp_path
    user = MembershipFactory(org=org, role=role).user
    client.force_login(user)
    document = DocumentFactory(org=org, contact=vendor, status=status) if status else None
    url = reverse(url_name, args=[document.pk] if document else [])

    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, _post_data(url_name, document, vendor))

    if role in allowed_roles:
        assert response.status_code in (200, 302), response.content[:500]
        if response.status_code == 302:
            assert not response.url.startswith(reverse("login"))
    elif method == "get":
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")
    else:
        assert response.status_code == 403
        if document is not None:
            before = document.status
            document.refresh_from_db()
            assert document.status == before
            assert document.payments.count() == 0
            assert document.attachments.count() == 0


@pytest.mark.parametrize("url_name", ["documents:list", "documents:create"])
def test_anonymous_user_is_sent_to_sign_in(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_action_is_refused(client, bill):
    response = client.post(reverse("documents:approve", args=[bill.pk]))
    assert response.status_code == 403
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.AWAITING_APPROVAL


def test_user_without_membership_is_sent_to_sign_in(client, django_user_model, db):
    user = django_user_model.objects.create_user("loner", password="x")
    client.force_login(user)
    response = client.get(reverse("documents:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_sign_in_page_explains_a_missing_role(client, org):
    user = MembershipFactory(org=org, role=Role.SUPPORT).user
    client.force_login(user)
    response = client.get(reverse("documents:create"), follow=True)
    assert b"does not give access to that page" in response.content


def test_sign_in_and_sign_out(client, org):
    from tests.factories import TEST_PASSWORD

    user = MembershipFactory(org=org, role=Role.AP_CLERK).user
    response = client.post(
        reverse("login"), {"username": user.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("documents:list")
    assert response.context["user"].is_authenticated
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated

    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
