"""Requires attention: failures grouped by cause, the fix of each, and a retry of exactly them."""

import datetime
import hashlib
import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import Role
from accounts.permissions import Perm
from documents import services as document_services
from documents.models import Category, DocumentStatus
from integrations.models import Connection, ConnectionStatus, Provider
from synclog.models import (
    EntryType,
    RecordStatus,
    StatusCode,
    SyncRecord,
    SyncRun,
    Trigger,
)
from synclog.selectors import attention as selectors
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant

ROLES = [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT]
MAPPING_MESSAGE = "Category Travel has no Xero mapping."


def html(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def text(response) -> str:
    """What a reader sees: the page without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def failed_record(document, connection, *, code=StatusCode.CONFIGURATION, message=MAPPING_MESSAGE):
    """A Failed record written directly (what the engine leaves after a permanent failure)."""
    return SyncRecord.objects.create(
        org=document.org,
        connection=connection,
        document=document,
        entry_type=EntryType.BILL,
        status=RecordStatus.FAILED,
        last_error_code=code,
        last_error_message=message,
        last_error_explanation=f"Explanation of {message}",
        last_error_hint=f"Hint for {message}",
    )


@pytest.fixture
def member_client(client, org):
    # Support by default: the role that retries a group (README, Roles).
    def login(role=Role.SUPPORT):
        client.force_login(MembershipFactory(org=org, role=role).user)
        return client

    return login


@pytest.fixture
def travel(org):
    return CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart


@pytest.fixture
def sundries(org):
    return CategoryFactory(org=org, name="Sundries", code="998")  # not in Xero's chart either


def approve_all(documents, actor):
    for document in documents:
        document_services.document_approve(document=document, actor=actor)


@pytest.fixture
def two_causes(org, clerk, connection, drain, travel, sundries, office):
    """Three Travel bills and two Sundries bills fail (no mapping); one Office bill syncs."""
    travel_bills = [DocumentFactory(org=org, category=travel) for _ in range(3)]
    sundries_bills = [DocumentFactory(org=org, category=sundries) for _ in range(2)]
    fine = DocumentFactory(org=org, category=office)
    approve_all([*travel_bills, *sundries_bills, fine], clerk)
    drain()
    return travel_bills, sundries_bills, fine


@pytest.fixture
def foreign_failure(other_org):
    connection = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    document = DocumentFactory(org=other_org, number="THEIRS-1", status=DocumentStatus.APPROVED)
    return failed_record(document, connection, message="Their secret failure.")


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
        assert b"Retry these" not in page.content
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
    assert b"Retry these" not in page.content
    group = page.context["groups"][0]
    args = [group.connection.pk, group.code, group.digest]
    assert client.post(reverse("synclog:attention-retry", args=args)).status_code == 403
    assert not SyncRun.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, org):
    response = client.get(reverse("synclog:attention"))
    assert response.status_code == 302 and "/sign-in/" in response.url


# --- grouping ------------------------------------------------------------------------------------


def test_failures_are_grouped_by_cause_with_counts(member_client, two_causes):
    page = member_client().get(reverse("synclog:attention"))
    groups = page.context["groups"]
    assert [(g.count, g.code, g.message) for g in groups] == [
        (3, StatusCode.CONFIGURATION, "Category Travel has no Xero mapping."),
        (2, StatusCode.CONFIGURATION, "Category Sundries has no Xero mapping."),
    ]
    travel_bills, sundries_bills, fine = two_causes
    assert {r.document_id for r in groups[0].records} == {d.pk for d in travel_bills}
    assert {r.document_id for r in groups[1].records} == {d.pk for d in sundries_bills}
    content = text(page)
    assert "3 bills: Category Travel has no Xero mapping." in content
    assert "2 bills: Category Sundries has no Xero mapping." in content
    assert groups[0].explanation and groups[0].explanation in content
    assert groups[0].hint and groups[0].hint in content
    assert fine.number not in content
    assert "Retry these 3" in content and "Retry these 2" in content
    # The documents list shows the tab, with the number of documents needing attention.
    listing = member_client().get(reverse("documents:list"))
    assert re.search(r"Requires attention <span[^>]*>5</span>", html(listing))


def test_entry_kinds_are_counted_per_group(org, connection, office):
    bill = DocumentFactory(org=org, status=DocumentStatus.APPROVED, category=office)
    invoice = DocumentFactory(
        org=org, kind="invoice", status=DocumentStatus.APPROVED, category=office
    )
    failed_record(bill, connection)
    record = failed_record(invoice, connection)
    SyncRecord.objects.filter(pk=record.pk).update(entry_type=EntryType.INVOICE)
    (group,) = selectors.attention_groups_with_records(
        org=org, group_rows=list(selectors.attention_groups(org=org))
    )
    assert group.entry_label == "1 bill and 1 invoice"


def test_each_cause_links_to_its_fix(member_client, org, connection, office):
    causes = {
        StatusCode.CONFIGURATION: MAPPING_MESSAGE,
        StatusCode.DATA_PUSH: "Invoice not of valid status for modification",
        StatusCode.DEAUTHORISED: "Access revoked.",
    }
    documents = {}
    for code, message in causes.items():
        documents[code] = DocumentFactory(org=org, category=office, status="approved")
        failed_record(documents[code], connection, code=code, message=message)
    admin = html(member_client(Role.ADMIN).get(reverse("synclog:attention")))
    assert f'href="{reverse("integrations:mappings", args=[connection.pk])}"' in admin
    assert "Map it in Xero" in admin
    assert f'href="{reverse("integrations:detail", args=[connection.pk])}"' in admin
    assert "Reconnect Xero" in admin
    booked = reverse("synclog:document-integrations", args=[documents[StatusCode.DATA_PUSH].pk])
    assert f'href="{booked}?connection={connection.pk}"' in admin
    # Those who cannot open the integrations pages are told whom to ask.
    clerk = html(member_client(Role.AP_CLERK).get(reverse("synclog:attention")))
    assert reverse("integrations:mappings", args=[connection.pk]) not in clerk
    assert "Ask an admin to map it" in clerk


def test_records_waiting_for_a_reconnect_form_their_own_group(
    member_client, org, clerk, connection, drain, ledger, office
):
    document = DocumentFactory(org=org, category=office)
    approve_all([document], clerk)
    ledger.revoke_tokens()
    drain()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    page = member_client(Role.ADMIN).get(reverse("synclog:attention"))
    (group,) = page.context["groups"]
    assert (group.waiting, group.count, group.fix, group.retryable) == (True, 1, "reconnect", False)
    content = text(page)
    assert "1 bill: waiting for Xero to be reconnected" in content
    assert "They resume by themselves after the reconnect." in content
    assert "Retry these" not in content
    assert f'href="{reverse("integrations:detail", args=[connection.pk])}"' in html(page)
    # A retry of a waiting group starts nothing: the reconnect resumes it.
    retry = reverse("synclog:attention-retry", args=[connection.pk, group.code, group.digest])
    member_client().post(retry)
    assert not SyncRun.objects.exists()


def test_empty_state(member_client, org, connection):
    page = member_client().get(reverse("synclog:attention"))
    assert page.context["groups"] == []
    assert "Nothing needs attention — every document is in sync." in text(page)


def test_documents_list_tab_query_leads_to_requires_attention(member_client):
    response = member_client().get(reverse("documents:list"), {"tab": "attention"})
    assert response.status_code == 302
    assert response.url == reverse("synclog:attention")


def test_a_large_group_shows_its_first_20_and_a_page_with_all(
    member_client, org, connection, office
):
    for index in range(27):
        document = DocumentFactory(
            org=org, number=f"T-{index:02d}", status="approved", category=office
        )
        failed_record(document, connection)
    client = member_client()
    page = client.get(reverse("synclog:attention"))
    (group,) = page.context["groups"]
    assert (group.count, len(group.records), group.more) == (27, 20, 7)
    content = text(page)
    assert "And 7 more — see all 27" in content
    url = reverse("synclog:attention-group", args=[connection.pk, group.code, group.digest])
    first = client.get(url)
    second = client.get(url, {"page": 2})
    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 2
    assert "Page 1 of 2" in text(first)


# --- retry ---------------------------------------------------------------------------------------


def test_retry_makes_a_run_of_exactly_the_groups_documents_and_the_fix_clears_it(
    member_client, org, connection, drain, ledger_books, two_causes, travel
):
    travel_bills, sundries_bills, fine = two_causes
    client = member_client()
    travel_group = client.get(reverse("synclog:attention")).context["groups"][0]
    args = [connection.pk, travel_group.code, travel_group.digest]
    # The fix: map Travel to an account of Xero's chart.
    travel.code = "493"
    travel.save()
    ledger_books.map_categories(connection)

    response = client.post(reverse("synclog:attention-retry", args=args))
    run = SyncRun.objects.get(trigger=Trigger.RETRY)
    assert response.status_code == 302
    assert response.url == reverse("synclog:bulk-progress", args=[run.public_id])
    assert run.connection == connection
    assert set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True)) == {
        d.pk for d in travel_bills
    }
    drain()
    run.refresh_from_db()
    assert (run.pushed, run.failed, run.status_code) == (3, 0, StatusCode.SUCCESS)
    groups = client.get(reverse("synclog:attention")).context["groups"]
    assert [(g.count, g.message) for g in groups] == [(2, "Category Sundries has no Xero mapping.")]
    # The emptied group's page says so; retrying it again starts nothing.
    assert (
        b"Nothing left in this group."
        in client.get(reverse("synclog:attention-group", args=args)).content
    )
    client.post(reverse("synclog:attention-retry", args=args))
    assert SyncRun.objects.filter(trigger=Trigger.RETRY).count() == 1


def test_retry_on_a_disabled_connection_is_refused(member_client, org, connection, office):
    document = DocumentFactory(org=org, status="approved", category=office)
    failed_record(document, connection)
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    client = member_client()
    (group,) = client.get(reverse("synclog:attention")).context["groups"]
    assert not group.retryable
    args = [connection.pk, group.code, group.digest]
    response = client.post(reverse("synclog:attention-retry", args=args), follow=True)
    assert b"reconnect or enable it before retrying" in response.content
    assert not SyncRun.objects.exists()


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


# --- query counts --------------------------------------------------------------------------------


def test_query_count_does_not_grow_with_failures(member_client, org, connection):
    client = member_client()
    other_category = Category.objects.create(org=org, name="Misc", code="997")

    def queries():
        with CaptureQueriesContext(db) as captured:
            response = client.get(reverse("synclog:attention"))
        assert response.status_code == 200
        return len(captured)

    def add_failures(count, start):
        for index in range(start, start + count):
            document = DocumentFactory(
                org=org, number=f"Q-{index:03d}", status="approved", category=other_category
            )
            message = MAPPING_MESSAGE if index % 2 else "Category Misc has no Xero mapping."
            failed_record(document, connection, message=message)

    add_failures(5, 0)
    for_5 = queries()
    add_failures(45, 5)
    assert SyncRecord.objects.count() == 50
    assert queries() == for_5
    # The documents list with its tab count: fixed as well.
    with CaptureQueriesContext(db) as captured:
        client.get(reverse("documents:list"))
    assert len(captured) <= for_5 + 2


# --- the stored digest, and each group's preview ---------------------------------------------


def test_the_digest_is_stored_with_the_record_and_follows_its_message(org, connection, office):
    document = DocumentFactory(org=org, status="approved", category=office)
    record = failed_record(document, connection)
    record.refresh_from_db()
    assert record.last_error_digest == hashlib.md5(MAPPING_MESSAGE.encode()).hexdigest()
    # The engine writes errors with update(): PostgreSQL recomputes the digest itself.
    SyncRecord.objects.filter(pk=record.pk).update(last_error_message="Another cause.")
    record.refresh_from_db()
    assert record.last_error_digest == hashlib.md5(b"Another cause.").hexdigest()
    (row,) = selectors.attention_groups(org=org)
    assert row["group_digest"] == record.last_error_digest


def set_updated_at(record, minutes_ago):
    SyncRecord.objects.filter(pk=record.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )


def test_each_group_previews_its_own_newest_records(member_client, org, connection, office):
    """Several groups on one page, each with more records than its preview: every group shows
    its own 20 newest, newest first, whatever the other groups hold."""
    second = Connection.objects.create(org=org, provider=Provider.XERO, name="Second Xero")
    causes = [
        (connection, StatusCode.CONFIGURATION, MAPPING_MESSAGE, 23),
        (connection, StatusCode.DATA_PUSH, "Contact archived.", 21),
        # The same code and message on another connection is another cause.
        (second, StatusCode.CONFIGURATION, MAPPING_MESSAGE, 2),
        # A failure without a code is grouped under 0, apart from the waiting records.
        (connection, None, "Something unexpected.", 1),
    ]
    expected = {}
    minutes = 0
    for conn, code, message, count in causes:
        records = []
        for _ in range(count):
            document = DocumentFactory(org=org, status="approved", category=office)
            record = failed_record(document, conn, code=code, message=message)
            # Interleaved ages: no group's records are all newer than another's.
            minutes = (minutes + 37) % 997
            set_updated_at(record, minutes)
            records.append((minutes, record.pk))
        expected[(conn.pk, code or 0, message)] = [pk for _, pk in sorted(records)][:20]
    page = member_client().get(reverse("synclog:attention"))
    groups = page.context["groups"]
    assert [(g.connection.pk, g.code, g.message, g.count) for g in groups] == [
        (connection.pk, StatusCode.CONFIGURATION, MAPPING_MESSAGE, 23),
        (connection.pk, StatusCode.DATA_PUSH, "Contact archived.", 21),
        (second.pk, StatusCode.CONFIGURATION, MAPPING_MESSAGE, 2),
        (connection.pk, 0, "Something unexpected.", 1),
    ]
    for group in groups:
        shown = [record.pk for record in group.records]
        assert shown == expected[(group.connection.pk, group.code, group.message)]
    assert not any(group.waiting for group in groups)
    # Each group's own page holds all of it, newest first, and nothing of the others.
    for group in groups:
        url = reverse(
            "synclog:attention-group", args=[group.connection.pk, group.code, group.digest]
        )
        pages = [member_client().get(url, {"page": n}).context["page"] for n in (1, 2)]
        listed = [record.pk for page in pages for record in page.object_list]
        key = (group.connection.pk, group.code, group.message)
        assert listed[: len(expected[key])] == expected[key]
        assert len(set(listed)) == group.count


def test_a_groups_explanation_is_its_newest_records(member_client, org, connection, office):
    old, new = (
        failed_record(DocumentFactory(org=org, status="approved", category=office), connection)
        for _ in range(2)
    )
    SyncRecord.objects.filter(pk=new.pk).update(last_error_hint="Map Travel to account 493.")
    set_updated_at(old, 30)
    (group,) = member_client().get(reverse("synclog:attention")).context["groups"]
    assert (group.message, group.hint) == (MAPPING_MESSAGE, "Map Travel to account 493.")
    url = reverse("synclog:attention-group", args=[connection.pk, group.code, group.digest])
    assert member_client().get(url).context["group"].hint == "Map Travel to account 493."


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


def test_query_counts_do_not_grow_with_groups_or_pages(
    member_client, org, connection, office, django_assert_max_num_queries
):
    client = member_client()

    def add_group(index, size):
        for _ in range(size):
            document = DocumentFactory(org=org, status="approved", category=office)
            failed_record(document, connection, message=f"Cause {index}.")

    add_group(0, 1)
    with CaptureQueriesContext(db) as one_group:
        client.get(reverse("synclog:attention"))
    for index in range(1, 25):  # 25 groups: two pages of groups, each a preview
        add_group(index, 2)
    add_group(99, 60)  # the largest: three pages of records
    with django_assert_max_num_queries(len(one_group)):
        page = client.get(reverse("synclog:attention"))
    assert len(page.context["groups"]) == 20
    assert len(page.context["groups"][0].records) == 20
    largest = page.context["groups"][0]
    url = reverse("synclog:attention-group", args=[connection.pk, largest.code, largest.digest])
    small = page.context["groups"][-1]
    small_url = reverse("synclog:attention-group", args=[connection.pk, small.code, small.digest])
    with CaptureQueriesContext(db) as small_page:
        client.get(small_url)
    with django_assert_max_num_queries(len(small_page)):
        response = client.get(url, {"page": 2})
    assert len(response.context["page"]) == 25
