"""The Accounting Sync History page: who may see it, its rows, pagination and query count."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from synclog.models import EntryType, RecordStatus, StatusCode, SyncStatusChange
from tests.factories import MembershipFactory
from tests.synclog.history import days_ago, make_connection, make_record
from tests.synclog.history.conftest import (
    ACCOUNTING,
    ADMIN,
    CLERK,
    HISTORY,
    SUPPORT,
    UPDATE,
    count_queries_for,
    row_ids,
)

# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [(ADMIN, True), (ACCOUNTING, True), (CLERK, False), (SUPPORT, False)]
)
def test_the_page_is_for_admins_and_accounting(client, org, xero, role, allowed):
    client.force_login(MembershipFactory(org=org, role=role).user)
    response = client.get(HISTORY)
    if allowed:
        assert response.status_code == 200
        assert b"Accounting Sync History" in response.content
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "allowed"), [(ADMIN, True), (ACCOUNTING, True), (CLERK, False), (SUPPORT, False)]
)
def test_update_sync_status_is_403_for_roles_without_the_permission(
    client, org, xero, role, allowed
):
    record = make_record(connection=xero)
    client.force_login(MembershipFactory(org=org, role=role).user)
    response = client.post(
        UPDATE, {"scope": "selected", "record_ids": [record.pk], "to_status": "complete"}
    )
    record.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert record.status == RecordStatus.COMPLETE
    else:
        assert response.status_code == 403
        assert record.status == RecordStatus.FAILED
        assert not SyncStatusChange.objects.exists()


def test_a_user_without_an_organisation_is_sent_to_sign_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner", password="x"))
    response = client.get(HISTORY)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- rows -----------------------------------------------------------------------------------------


def test_a_row_shows_amounts_references_and_the_error(signed_in, xero):
    record = make_record(
        connection=xero,
        total="250.00",
        external_number="BILL-778",
        synced_amount=Decimal("250.00"),
        synced_at=days_ago(5),
        last_error_code=StatusCode.CONFIGURATION,
        last_error_message="Account code '999' is not a valid code for this document.",
        last_error_explanation="Category Travel has no Xero account mapping.",
        last_error_hint="Map Travel to an account under Integrations › Mappings, then retry.",
    )
    html = signed_in.get(HISTORY).content.decode()
    row = re.search(rf'<tr data-record-id="{record.pk}".*?</tr>', html, re.S).group(0)
    assert reverse("documents:detail", args=[record.document_id]) in row
    assert record.document.number in row
    assert "250.00" in row
    assert record.document.contact.name in row
    assert "BILL-778" in row
    assert "Failed" in row
    assert "4000" in row
    assert "Category Travel has no Xero account mapping." in row
    assert "Map Travel to an account" in row
    assert "is not a valid code" in row
    assert "Matches" in row
    assert "amounts-differ" not in row


def test_total_vs_synced_is_flagged_when_they_differ(signed_in, xero):
    differs = make_record(
        connection=xero,
        status=RecordStatus.COMPLETE,
        total="120.00",
        synced_amount=Decimal("100.00"),
        synced_at=days_ago(1),
    )
    matches = make_record(
        connection=xero,
        status=RecordStatus.COMPLETE,
        total="100.00",
        synced_amount=Decimal("100.00"),
        synced_at=days_ago(1),
    )
    never = make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(1))
    response = signed_in.get(HISTORY, {"status": "complete"})
    flags = {record.pk: record.amounts_differ for record in response.context["page"]}
    assert flags == {differs.pk: True, matches.pk: False, never.pk: False}
    html = response.content.decode()
    assert re.search(rf'<tr data-record-id="{differs.pk}" class="amounts-differ">', html)
    assert re.search(rf'<tr data-record-id="{matches.pk}">', html)


def test_payment_rows_show_the_payment_amount_and_reference(signed_in, xero):
    record = make_record(
        connection=xero,
        entry_type=EntryType.BILL_PAYMENT,
        total="500.00",
        payment_amount="123.45",
        payment_reference="WIRE-2026-11",
        synced_amount=Decimal("123.45"),
    )
    response = signed_in.get(HISTORY, {"tab": "bill_payment"})
    (row,) = response.context["page"]
    assert row.amount == Decimal("123.45")
    assert not row.amounts_differ
    html = response.content.decode()
    assert "WIRE-2026-11" in html
    assert "123.45" in html
    assert record.document.number in html


def test_an_empty_tab_says_what_to_do(signed_in, xero):
    html = signed_in.get(HISTORY).content.decode()
    assert "No failed bills in this date range: nothing to fix." in html


def test_without_a_connection_the_page_says_to_connect_one(signed_in):
    assert b"No ledger is connected yet" in signed_in.get(HISTORY).content


def test_fifty_rows_a_page(signed_in, xero):
    records = [make_record(connection=xero) for _ in range(53)]
    first = signed_in.get(HISTORY)
    assert len(row_ids(first)) == 50
    assert b"Page 1 of 2" in first.content
    second = signed_in.get(HISTORY, {"page": 2})
    assert len(row_ids(second)) == 3
    assert set(row_ids(first)) | set(row_ids(second)) == {r.pk for r in records}


def test_the_query_count_does_not_grow_with_rows(signed_in, org, xero):
    second = make_connection(org, name="Xero NZ")  # the connection filter and column show too

    def add(count: int, entry_type: str) -> None:
        for index in range(count):
            make_record(connection=xero if index % 2 else second, entry_type=entry_type)

    add(5, EntryType.BILL)
    add(5, EntryType.BILL_PAYMENT)
    five_bills = count_queries_for(signed_in, {})
    five_payments = count_queries_for(signed_in, {"tab": "bill_payment"})
    add(45, EntryType.BILL)
    add(45, EntryType.BILL_PAYMENT)
    assert count_queries_for(signed_in, {}) == five_bills
    assert count_queries_for(signed_in, {"tab": "bill_payment"}) == five_payments
    assert five_bills <= 10
