"""Requires attention: which roles see it and retry, and another organisation's failures never
appear or count."""

import pytest
from django.urls import reverse

from accounts import permissions
from accounts.models import Role
from accounts.permissions import Perm
from synclog.models import (
    EntryType,
    RecordStatus,
    StatusCode,
    SyncRecord,
    SyncRun,
    Trigger,
)
from synclog.selectors import attention as selectors
from tests.factories import DocumentFactory
from tests.synclog.attention.conftest import MAPPING_MESSAGE, ROLES, failed_record
from tests.tenancy import assert_not_found_for_other_tenant

# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_requires_attention_and_support_or_admin_retry(
    member_client, two_causes, role
):
    client = member_client(role)
    page = client.get(reverse("synclog:attention"))
    assert page.status_code == 200
    group = page.context["groups"][0]
    args = [group.connection.pk, group.code, group.digest]
    assert client.get(reverse("synclog:attention-group", args=args)).status_code == 200
    response = client.post(reverse("synclog:attention-retry", args=args))
    if role in (Role.ADMIN, Role.SUPPORT):
        assert b"Retry these 3" in page.content
        assert response.status_code == 302
        assert SyncRun.objects.filter(trigger=Trigger.RETRY).count() == 1
    else:
        # A clerk or accounting user is told who retries, and is refused if it posts anyway.
        assert b"Retry these" not in page.content and b"Retry this one" not in page.content
        assert b"Support or an admin retries these together" in page.content
        assert response.status_code == 403
        assert not SyncRun.objects.exists()


def test_retry_needs_the_retry_failed_permission(member_client, two_causes, monkeypatch):
    monkeypatch.setitem(
        permissions.ROLE_PERMISSIONS,
        Role.SUPPORT,
        permissions.ROLE_PERMISSIONS[Role.SUPPORT] - {Perm.RETRY_FAILED},
    )
    client = member_client(Role.SUPPORT)
    page = client.get(reverse("synclog:attention"))
    assert page.status_code == 200
    assert b"Retry these" not in page.content and b"Retry this one" not in page.content
    group = page.context["groups"][0]
    args = [group.connection.pk, group.code, group.digest]
    assert client.post(reverse("synclog:attention-retry", args=args)).status_code == 403
    assert not SyncRun.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, org):
    response = client.get(reverse("synclog:attention"))
    assert response.status_code == 302 and "/sign-in/" in response.url


# --- tenant isolation ----------------------------------------------------------------------------


def test_another_organisations_failures_never_appear(
    member_client, org, connection, foreign_failure, office
):
    document = DocumentFactory(org=org, status="approved", category=office)
    failed_record(document, connection)
    client = member_client()
    page = client.get(reverse("synclog:attention"))
    assert [g.connection for g in page.context["groups"]] == [connection]
    assert b"Their secret failure." not in page.content
    assert b"THEIRS-1" not in page.content
    assert selectors.attention_document_count(org=org) == 1


def test_another_organisations_group_and_retry_are_not_found(
    member_client, org, connection, foreign_failure
):
    client = member_client()
    theirs = foreign_failure.connection
    (group_row,) = selectors.attention_groups(org=foreign_failure.org)
    args = [theirs.pk, group_row["group_code"], group_row["group_digest"]]
    assert_not_found_for_other_tenant(client, "get", reverse("synclog:attention-group", args=args))
    assert_not_found_for_other_tenant(client, "post", reverse("synclog:attention-retry", args=args))
    assert not SyncRun.objects.exists()
    # Our connection with their cause's key: nothing of theirs is retried.
    ours = [connection.pk, group_row["group_code"], group_row["group_digest"]]
    client.post(reverse("synclog:attention-retry", args=ours))
    assert not SyncRun.objects.exists()
    foreign_failure.refresh_from_db()
    assert foreign_failure.status == RecordStatus.FAILED


def test_another_organisations_records_never_count_even_under_our_key(
    member_client, org, other_org, connection, office
):
    """Every read is scoped by organisation, not only by connection: a record of another
    organisation that (wrongly) named our connection and cause stays out of the counts, the
    preview, the group's page and its retry."""
    ours = failed_record(DocumentFactory(org=org, status="approved", category=office), connection)
    theirs = SyncRecord.objects.create(
        org=other_org,
        connection=connection,
        document=DocumentFactory(org=other_org, number="THEIRS-9", status="approved"),
        entry_type=EntryType.BILL,
        status=RecordStatus.FAILED,
        last_error_code=StatusCode.CONFIGURATION,
        last_error_message=MAPPING_MESSAGE,
    )
    client = member_client()
    page = client.get(reverse("synclog:attention"))
    (group,) = page.context["groups"]
    assert (group.count, [r.pk for r in group.records]) == (1, [ours.pk])
    args = [connection.pk, group.code, group.digest]
    group_page = client.get(reverse("synclog:attention-group", args=args))
    assert [r.pk for r in group_page.context["page"]] == [ours.pk]
    assert b"THEIRS-9" not in page.content + group_page.content
    assert selectors.attention_group_document_ids(
        org=org, connection=connection, code=group.code, digest=group.digest
    ) == [ours.document_id]
    assert theirs.pk not in {r.pk for r in group.records}
