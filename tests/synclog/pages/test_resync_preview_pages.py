"""The re-sync preview's pages (issue 17, item 1): the Re-sync dialog's preview of one document
and the bulk confirmation's, each read from the ledger (the in-process Xero emulator) through the
connection's quota; a ledger that does not answer is said in the dialog, never a 500; another
organisation's ids are not found; nothing is pushed."""

import datetime
import re

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse

from documents import services as document_services
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord, SyncRun
from synclog.ratelimit import get_rate_limiter
from tests.factories import DocumentFactory, MembershipFactory
from tests.ledger_fixtures import UNLIMITED, quota_spend
from tests.synclog.bulk.conftest import approved, ids_of
from tests.synclog.pages.conftest import text
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def preview_url(document, connection, entry="bill") -> str:
    url = reverse("synclog:document-resync-preview", args=[document.pk, connection.pk])
    return f"{url}?entry={entry}"


@pytest.fixture
def signed_in(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def pushed_bill(approved_bill, drain):
    drain()
    return approved_bill


def test_the_dialog_shows_a_field_changed_in_the_ledger_and_pushes_nothing(
    signed_in, pushed_bill, connection, ledger
):
    record = SyncRecord.objects.get(document=pushed_bill)
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    writes = len(ledger.writes())

    response = signed_in.get(preview_url(pushed_bill, connection), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    page = text(response)
    assert 'data-action="update"' in page
    assert re.search(
        r'data-field="due date"> <th scope="row">Due date</th> <td class="there">31 Mar 2027</td>'
        rf' <td class="here">{date_filter(pushed_bill.due_date)}</td>',
        page,
    ), page
    assert len(ledger.writes()) == writes
    assert not SyncRun.objects.exists()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE


def test_the_tab_reads_nothing_from_the_ledger_until_the_dialog_opens(
    signed_in, pushed_bill, connection, ledger
):
    start = len(ledger.state()["requests"])
    url = reverse("synclog:document-integrations", args=[pushed_bill.pk])
    response = signed_in.get(f"{url}?connection={connection.pk}")
    page = text(response)
    assert reverse("synclog:document-resync-preview", args=[pushed_bill.pk, connection.pk]) in page
    assert 'hx-trigger="dialog-opened from:#resync-dialog, change from:#resync-form"' in page
    assert len(ledger.state()["requests"]) == start


def test_a_ledger_that_fails_is_said_in_the_dialog(signed_in, pushed_bill, connection, ledger):
    ledger.set_faults(fail_next={"count": 5, "status": 503})
    response = signed_in.get(preview_url(pushed_bill, connection), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert "Xero could not be read" in page
    assert "The ledger did not answer or failed" in page
    assert 'data-action="unread"' in page


def test_a_full_quota_says_when_to_try_again_without_calling_the_ledger(
    signed_in, pushed_bill, connection, ledger, settings
):
    settings.LEDGER_PAGE_QUOTA_WAIT_SECONDS = 0.2
    connection.settings = {**connection.settings, "rate_limits": {**UNLIMITED, "per_window": 3}}
    connection.save(update_fields=["settings"])
    get_rate_limiter().reset(services.connection_quota_key(connection=connection))
    quota_spend(connection, 3)
    start = len(ledger.state()["requests"])
    response = signed_in.get(preview_url(pushed_bill, connection), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert re.search(r"try again in \d+ s", text(response))
    assert len(ledger.state()["requests"]) == start


def test_a_payment_entry_of_an_unpaid_bill_is_a_form_error(signed_in, pushed_bill, connection):
    response = signed_in.get(preview_url(pushed_bill, connection, entry="payment"))
    assert response.status_code == 400
    assert "no such entry" in text(response)


def test_a_draft_says_why_it_is_not_pushed(signed_in, org, connection, vendor, office):
    draft = DocumentFactory(org=org, contact=vendor, category=office)
    response = signed_in.get(preview_url(draft, connection), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "once approved" in text(response)


def test_another_organisations_document_or_connection_is_not_found(
    signed_in, pushed_bill, connection, other_org
):
    theirs = DocumentFactory(org=other_org, status="approved")
    their_connection = Connection.objects.create(
        org=other_org, provider=Provider.XERO, name="Their Xero"
    )
    assert_not_found_for_other_tenant(signed_in, "get", preview_url(theirs, connection))
    assert_not_found_for_other_tenant(signed_in, "get", preview_url(pushed_bill, their_connection))


# --- the bulk confirmation ---------------------------------------------------------------------


def pushed(org, clerk, drain, vendor, office, count: int) -> list:
    documents = [
        DocumentFactory(org=org, contact=vendor, category=office, number=f"B-{n:03d}")
        for n in range(count)
    ]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    drain()
    return documents


def bulk_preview(client, data):
    return client.post(reverse("synclog:bulk-preview"), data, HTTP_HX_REQUEST="true")


def test_the_confirmation_loads_the_preview_and_the_preview_counts_each_action(
    signed_in, org, connection, ledger, drain, clerk, settings, vendor, office
):
    settings.SYNC_PREVIEW_DOCUMENTS = 3
    docs = pushed(org, clerk, drain, vendor, office, 4)
    record = SyncRecord.objects.get(document=docs[0])
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    document_services.document_update(
        document=docs[1], actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    confirm = signed_in.post(reverse("synclog:bulk-confirm"), {"document_ids": ids_of(docs)})
    assert 'hx-post="{}"'.format(reverse("synclog:bulk-preview")) in text(confirm)

    response = bulk_preview(signed_in, {"document_ids": ids_of(docs)})

    assert response.status_code == 200
    page = text(response)
    assert "The first 3 documents, 3 entries:" in page
    assert '<span data-count="update">1 to update</span>' in page
    assert '<span data-count="unchanged">2 unchanged</span>' in page
    assert "1 more document is re-synced by the same rules but not previewed" in page
    assert "re-sync this document alone" in page  # docs[0], changed in Xero only
    assert not SyncRun.objects.exists()


def test_a_bulk_preview_reads_in_a_fixed_number_of_queries(
    signed_in, org, connection, ledger, drain, clerk, vendor, office, django_assert_max_num_queries
):
    docs = pushed(org, clerk, drain, vendor, office, 12)
    bulk_preview(signed_in, {"document_ids": ids_of(docs[:2])})  # sessions, caches
    with django_assert_max_num_queries(30):
        response = bulk_preview(signed_in, {"document_ids": ids_of(docs)})
    assert text(response).count('class="preview-entry"') == 12


def test_another_organisations_ids_are_not_previewed(signed_in, org, other_org, connection, ledger):
    theirs = approved(other_org, 2, prefix="THEIRS")
    response = bulk_preview(signed_in, {"document_ids": ids_of(theirs)})
    assert "None of the selected documents exists" in text(response)
    assert "THEIRS" not in text(response)
    mine = approved(org, 1)
    response = bulk_preview(signed_in, {"document_ids": ids_of(mine + theirs)})
    page = text(response)
    assert "THEIRS" not in page and "B-000" in page


def test_a_user_of_another_organisation_sees_nothing_of_ours(client, org, other_org, connection):
    mine = approved(org, 1)
    client.force_login(MembershipFactory(org=other_org).user)
    response = bulk_preview(client, {"document_ids": ids_of(mine)})
    assert "B-000" not in text(response)


def test_an_entry_in_the_locked_period_shows_held_with_the_lock_date(
    signed_in, pushed_bill, connection, ledger, clerk
):
    document_services.document_update(
        document=pushed_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    connection.lock_date = pushed_bill.issue_date
    connection.save(update_fields=["lock_date"])
    response = signed_in.get(preview_url(pushed_bill, connection), HTTP_HX_REQUEST="true")
    page = text(response)
    assert 'data-action="held"' in page
    assert f"held: Xero is locked until {date_filter(pushed_bill.issue_date, 'j M Y')}" in page
    bulk = text(bulk_preview(signed_in, {"document_ids": [pushed_bill.pk]}))
    assert '<span data-count="held">1 held by the ledger\'s lock date</span>' in bulk
