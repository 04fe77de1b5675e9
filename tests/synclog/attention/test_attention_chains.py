"""Requires attention shows a failed bill and the payments waiting for it as one row, with one
Retry that pushes the bill, then its payments, in one run; another organisation's ids reach
nothing."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from synclog.models import RecordStatus, StatusCode, SyncRecord, SyncRun, SyncRunItem, Trigger
from synclog.selectors.attention import GROUP_PREVIEW_SIZE
from tests.factories import DocumentFactory, MembershipFactory, SyncRecordFactory
from tests.synclog.attention.conftest import html
from tests.tenancy import assert_not_found_for_other_tenant


def paid_trip(org, clerk, travel, number, payments=2):
    document = DocumentFactory(org=org, category=travel, number=number)
    document_services.document_approve(document=document, actor=clerk)
    for day in range(payments):
        document_services.payment_record(
            document=document, actor=clerk, amount="10.00", paid_at=f"2026-11-0{day + 5}"
        )
    return document


@pytest.fixture
def failed_chain(org, clerk, connection, drain, travel):
    """A bill booked to Travel (no mapping) with two payments: the bill fails, they wait."""
    document = paid_trip(org, clerk, travel, "TRIP-1")
    drain()
    return document


def test_a_failed_bill_is_one_row_with_its_waiting_payments(member_client, failed_chain):
    response = member_client().get(reverse("synclog:attention"))
    (group,) = response.context["groups"]
    # The group counts the bill only: its payments did not fail, they wait for it.
    assert (group.count, group.entry_label) == (1, "1 bill")
    (record,) = group.records
    assert [p.payment.paid_at.day for p in record.waiting_payments] == [5, 6]
    body = html(response)
    assert body.count('class="attention-chain"') == 1
    assert "and 2 payments waiting for it" in body
    assert body.count('class="chain-payment-row"') == 2
    assert body.count(">Retry</button>") == 1
    assert 'aria-label="Retry TRIP-1 and its 2 payments"' in body


def test_the_group_page_shows_the_chain_too(member_client, connection, failed_chain):
    (group,) = member_client().get(reverse("synclog:attention")).context["groups"]
    args = [connection.pk, group.code, group.digest]
    response = member_client().get(reverse("synclog:attention-group", args=args))
    (record,) = response.context["page"].object_list
    assert len(record.waiting_payments) == 2
    assert "and 2 payments waiting for it" in html(response)


def test_a_clerk_sees_the_chain_without_a_retry(member_client, failed_chain):
    body = html(member_client(Role.AP_CLERK).get(reverse("synclog:attention")))
    assert "and 2 payments waiting for it" in body
    assert ">Retry</button>" not in body


def test_queries_do_not_grow_with_chains(
    member_client, org, clerk, connection, drain, travel, django_assert_max_num_queries
):
    paid_trip(org, clerk, travel, "TRIP-1")
    drain()
    client = member_client()
    client.get(reverse("synclog:attention"))  # folds the counts once
    db.queries_log.clear()  # the pushes filled it: a capture reads its tail by position
    with CaptureQueriesContext(db) as one:
        client.get(reverse("synclog:attention"))
    for_one = len(one.captured_queries)  # read now: it is a slice of the log by position
    # As many chains as the group shows (each one's payments on the page).
    for index in range(2, GROUP_PREVIEW_SIZE + 1):
        paid_trip(org, clerk, travel, f"TRIP-{index}", payments=3)
    drain()
    client.get(reverse("synclog:attention"))
    db.queries_log.clear()
    with django_assert_max_num_queries(for_one):
        response = client.get(reverse("synclog:attention"))
    (group,) = response.context["groups"]
    assert len(group.records) == GROUP_PREVIEW_SIZE
    assert sum(len(r.waiting_payments) for r in group.records) == 2 + (GROUP_PREVIEW_SIZE - 1) * 3


def test_retry_of_a_chain_is_one_run_bill_first(
    member_client, org, connection, drain, ledger_books, failed_chain, travel
):
    travel.code = "493"
    travel.save()
    ledger_books.map_categories(connection)
    response = member_client().post(
        reverse("synclog:attention-chain-retry", args=[connection.pk, failed_chain.pk])
    )
    run = SyncRun.objects.get(trigger=Trigger.RETRY)
    assert response.status_code == 302
    assert response.url == reverse("synclog:bulk-progress", args=[run.public_id])
    records = SyncRecord.objects.filter(document=failed_chain)
    assert set(SyncRunItem.objects.filter(run=run).values_list("record_id", flat=True)) == set(
        records.values_list("pk", flat=True)
    )
    assert run.total == 3
    drain()
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 3, 0)
    assert set(records.values_list("status", flat=True)) == {RecordStatus.COMPLETE}
    # The bill's entry was written before its payments (its attempt is the oldest).
    bill = records.get(payment__isnull=True)
    first = min(
        (r.attempts.filter(run=run).get() for r in records), key=lambda a: (a.started_at, a.pk)
    )
    assert first.record_id == bill.pk
    # Nothing left: a second retry starts nothing.
    response = member_client().post(
        reverse("synclog:attention-chain-retry", args=[connection.pk, failed_chain.pk]),
        follow=True,
    )
    assert b"is left to retry" in response.content
    assert SyncRun.objects.filter(trigger=Trigger.RETRY).count() == 1


def test_another_organisations_ids_reach_no_chain(
    client, org, other_org, connection, failed_chain, ledger_books
):
    from tests.ledger_fixtures import XeroBooks

    other_connection = XeroBooks(ledger_books.emulator).connect_org(other_org)
    other_document = DocumentFactory(org=other_org, status="approved", number="GLOBEX-1")
    SyncRecordFactory(
        connection=other_connection,
        document=other_document,
        status=RecordStatus.FAILED,
        last_error_code=StatusCode.CONFIGURATION,
        last_error_message="Category Secret has no Xero mapping.",
    )
    client.force_login(MembershipFactory(org=org, role=Role.SUPPORT).user)
    url = "synclog:attention-chain-retry"
    # Their document on our connection, and our document on their connection: both 404.
    assert_not_found_for_other_tenant(
        client, "post", reverse(url, args=[connection.pk, other_document.pk])
    )
    assert_not_found_for_other_tenant(
        client, "post", reverse(url, args=[other_connection.pk, failed_chain.pk])
    )
    assert not SyncRun.objects.filter(trigger=Trigger.RETRY).exists()
    other = SyncRecord.objects.get(document=other_document)
    assert other.status == RecordStatus.FAILED


def test_a_runs_progress_says_its_waiting_payments_were_not_sent(
    member_client, org, clerk, drain, failed_chain
):
    from synclog import services

    (run,) = services.bulk_resync(org=org, document_ids=[failed_chain.pk], actor=clerk)
    drain()
    body = html(member_client().get(reverse("synclog:bulk-progress", args=[run.public_id])))
    failures = body[body.index('id="bulk-failures"') :]
    assert failures.count("not sent: waits for its bill") == 2
    assert failures.count("Category Travel has no Xero mapping.") == 3  # the bill's, and theirs
