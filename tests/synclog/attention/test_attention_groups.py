"""Requires attention: failures grouped by cause with counts and the fix of each, the stored
digest, and each group's preview of its newest records."""

import hashlib
import re

from django.urls import reverse

from accounts.models import Role
from documents.models import DocumentStatus
from integrations.models import Connection, ConnectionStatus, Provider
from synclog.models import (
    EntryType,
    StatusCode,
    SyncRecord,
    SyncRun,
)
from synclog.selectors import attention as selectors
from tests.factories import DocumentFactory
from tests.synclog.attention.conftest import (
    MAPPING_MESSAGE,
    approve_all,
    failed_record,
    html,
    set_updated_at,
    text,
)

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
    assert "Retry this one" not in content and "Retry these" not in content
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


def test_a_large_group_shows_its_newest_few_and_a_page_with_all(
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
    assert (group.count, len(group.records), group.more) == (27, 5, 22)
    # The newest first: T-26 was failed last.
    assert [r.document.number for r in group.records] == ["T-26", "T-25", "T-24", "T-23", "T-22"]
    content = text(page)
    assert "And 22 more — see all 27" in content
    url = reverse("synclog:attention-group", args=[connection.pk, group.code, group.digest])
    first = client.get(url)
    second = client.get(url, {"page": 2})
    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 2
    assert "Page 1 of 2" in text(first)


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


def test_each_group_previews_its_own_newest_records(member_client, org, connection, office):
    """Several groups on one page, each with more records than its preview: every group shows
    its own newest (GROUP_PREVIEW_SIZE), newest first, whatever the other groups hold."""
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
        expected[(conn.pk, code or 0, message)] = [pk for _, pk in sorted(records)][
            : selectors.GROUP_PREVIEW_SIZE
        ]
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
