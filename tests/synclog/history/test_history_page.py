"""Accounting Sync History page and Update Sync Status: roles, tenancy, filters, rows, queries."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from documents import services as document_services
from synclog.filters import one_month_before
from synclog.models import EntryType, RecordStatus, StatusCode, SyncRecord, SyncStatusChange
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.synclog.history import days_ago, make_connection, make_record
from tests.tenancy import assert_not_found_for_other_tenant

HISTORY = reverse("synclog:history")
UPDATE = reverse("synclog:history-update-status")
ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT


@pytest.fixture
def xero(org):
    return make_connection(org)


@pytest.fixture
def accountant(org):
    return MembershipFactory(org=org, role=ACCOUNTING).user


@pytest.fixture
def signed_in(client, accountant):
    client.force_login(accountant)
    return client


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-record-id="(\d+)"', response.content.decode())]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


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


# --- filters --------------------------------------------------------------------------------------


def test_defaults_are_bills_failed_and_the_last_month(signed_in, xero):
    recent = make_record(connection=xero, updated_at=days_ago(3))
    make_record(connection=xero, updated_at=days_ago(45))  # failed, but before the last month
    make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(1))
    make_record(connection=xero, status=RecordStatus.PENDING)
    make_record(connection=xero, entry_type=EntryType.INVOICE, updated_at=days_ago(1))

    response = signed_in.get(HISTORY)

    assert row_ids(response) == [recent.pk]
    form = response.context["filter"].form
    today = timezone.localdate()
    assert form.data["tab"] == "bill"
    assert form.data["status"] == "failed"
    assert form.data["date_from"] == one_month_before(today).isoformat()
    assert form.data["date_to"] == today.isoformat()
    html = response.content.decode()
    assert re.search(r'<option value="failed" selected>', html)
    assert f'value="{one_month_before(today).isoformat()}"' in html
    assert re.search(r'<a href="[^"]*tab=bill[^"]*" aria-current="page">Bills</a>', html)


@pytest.mark.parametrize(
    ("month_day", "expected"),
    [
        (datetime.date(2026, 3, 31), datetime.date(2026, 2, 28)),
        (datetime.date(2026, 1, 15), datetime.date(2025, 12, 15)),
        (datetime.date(2024, 3, 30), datetime.date(2024, 2, 29)),
    ],
)
def test_one_month_before_clamps_to_the_end_of_a_shorter_month(month_day, expected):
    assert one_month_before(month_day) == expected


@pytest.mark.parametrize(
    ("tab", "entry_type"),
    [
        ("invoice", EntryType.INVOICE),
        ("invoice_payment", EntryType.INVOICE_PAYMENT),
        ("bill", EntryType.BILL),
        ("bill_payment", EntryType.BILL_PAYMENT),
    ],
)
def test_each_tab_shows_its_entry_type(signed_in, xero, tab, entry_type):
    records = {
        kind: make_record(connection=xero, entry_type=kind)
        for kind in (
            EntryType.INVOICE,
            EntryType.INVOICE_PAYMENT,
            EntryType.BILL,
            EntryType.BILL_PAYMENT,
        )
    }
    response = signed_in.get(HISTORY, {"tab": tab})
    assert row_ids(response) == [records[entry_type].pk]


def test_pending_ignores_the_date_range_and_disables_it(signed_in, xero):
    old_pending = make_record(
        connection=xero, status=RecordStatus.PENDING, updated_at=days_ago(400)
    )
    make_record(connection=xero, updated_at=days_ago(400))  # failed, out of range

    query = {"status": "pending", "date_from": "2026-01-01", "date_to": "2026-01-02"}
    response = signed_in.get(HISTORY, query)

    assert row_ids(response) == [old_pending.pk]
    html = response.content.decode()
    assert re.search(r'<input type="date" name="date_from"[^>]*disabled', html)
    assert re.search(r'<input type="date" name="date_to"[^>]*disabled', html)
    # A reversed range is no error when the dates do not apply.
    response = signed_in.get(HISTORY, {**query, "date_from": "2026-02-01"})
    assert response.context["filter"].is_valid()
    assert row_ids(response) == [old_pending.pk]
    # The same range with Failed applies.
    response = signed_in.get(HISTORY, {**query, "status": "failed"})
    assert row_ids(response) == []
    assert "disabled" not in re.search(
        r'<input type="date" name="date_from"[^>]*>', response.content.decode()
    ).group(0)


def test_a_complete_record_is_dated_by_its_push_and_a_failed_one_by_its_failure(signed_in, xero):
    pushed_long_ago = make_record(
        connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(60)
    )
    pushed_lately = make_record(
        connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(2), updated_at=days_ago(2)
    )
    never_pushed = make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=None)
    # Synced two months ago, failed yesterday: a fresh failure stays in the default range.
    failed_lately = make_record(connection=xero, synced_at=days_ago(60), updated_at=days_ago(1))

    complete = row_ids(signed_in.get(HISTORY, {"status": "complete"}))
    assert set(complete) == {pushed_lately.pk, never_pushed.pk}
    assert pushed_long_ago.pk not in complete
    assert row_ids(signed_in.get(HISTORY)) == [failed_lately.pk]


def test_the_range_holds_whole_days_of_the_sync_date(signed_in, xero):
    """From the first moment of the first day to the last moment of the last day, on the sync
    date: when pushed, else when marked Complete (never pushed); when it failed."""
    start = timezone.make_aware(datetime.datetime(2026, 3, 2))
    end = timezone.make_aware(datetime.datetime(2026, 3, 4))  # the day after the range
    just = datetime.timedelta(microseconds=1)
    complete = RecordStatus.COMPLETE
    inside = [
        make_record(connection=xero, status=complete, synced_at=start, updated_at=end),
        make_record(connection=xero, status=complete, synced_at=end - just),
        make_record(connection=xero, status=complete, synced_at=None, updated_at=start),
    ]
    make_record(connection=xero, status=complete, synced_at=start - just, updated_at=start)
    make_record(connection=xero, status=complete, synced_at=end)
    make_record(connection=xero, status=complete, synced_at=None, updated_at=end)
    failed_inside = make_record(connection=xero, synced_at=start - just, updated_at=end - just)
    make_record(connection=xero, synced_at=start, updated_at=end)
    days = {"date_from": "2026-03-02", "date_to": "2026-03-03"}
    assert set(row_ids(signed_in.get(HISTORY, {"status": "complete", **days}))) == {
        record.pk for record in inside
    }
    assert row_ids(signed_in.get(HISTORY, days)) == [failed_inside.pk]


def test_a_cleared_date_leaves_that_end_open(signed_in, xero):
    old = make_record(connection=xero, updated_at=days_ago(200))
    response = signed_in.get(HISTORY, {"date_from": "", "date_to": ""})
    assert row_ids(response) == [old.pk]
    # Links keep the cleared dates (blank), not the defaults.
    assert "date_from=&amp;date_to=" in response.content.decode()


def test_dates_are_days_in_the_users_time_zone(client, accountant, xero):
    client.force_login(accountant)
    client.cookies["tz"] = "Pacific/Auckland"
    # 20:00 UTC on 1 March is already 2 March in Auckland.
    late = datetime.datetime(2026, 3, 1, 20, 0, tzinfo=datetime.UTC)
    record = make_record(connection=xero, updated_at=late)
    on_the_2nd = {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    assert row_ids(client.get(HISTORY, on_the_2nd)) == [record.pk]
    on_the_1st = {"date_from": "2026-03-01", "date_to": "2026-03-01"}
    assert row_ids(client.get(HISTORY, on_the_1st)) == []


@pytest.mark.parametrize(
    "query",
    [
        {"status": "broken"},
        {"tab": "expense"},
        {"date_from": "not-a-date"},
        {"date_from": "2026-02-10", "date_to": "2026-02-01"},
        {"connection": "abc"},
        {"page": "zzz"},
    ],
)
def test_bad_filters_are_form_errors_not_500(signed_in, xero, query):
    make_record(connection=xero)
    response = signed_in.get(HISTORY, query)
    assert response.status_code == 200
    if "page" not in query:
        assert response.context["filter"].errors
        assert row_ids(response) == []
        assert b'role="alert"' in response.content


def test_the_connection_filter_appears_with_several_connections(signed_in, org, other_org, xero):
    assert b'name="connection"' not in signed_in.get(HISTORY).content
    second = make_connection(org, name="Xero NZ")
    first_record = make_record(connection=xero)
    second_record = make_record(connection=second)

    response = signed_in.get(HISTORY)
    assert b'name="connection"' in response.content
    assert set(row_ids(response)) == {first_record.pk, second_record.pk}
    assert row_ids(signed_in.get(HISTORY, {"connection": second.pk})) == [second_record.pk]

    foreign = make_connection(other_org)
    response = signed_in.get(HISTORY, {"connection": foreign.pk})
    assert response.status_code == 200
    assert "connection" in response.context["filter"].errors
    assert row_ids(response) == []


def test_another_organisations_records_never_show(signed_in, other_org, xero):
    mine = make_record(connection=xero)
    make_record(connection=make_connection(other_org))
    assert row_ids(signed_in.get(HISTORY)) == [mine.pk]


def test_an_htmx_filter_change_swaps_the_results_with_the_tabs_and_export_link(client, org, xero):
    client.force_login(MembershipFactory(org=org, role=ADMIN, can_export=True).user)
    make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(1))
    response = client.get(
        HISTORY,
        {"status": "complete"},
        headers={"HX-Request": "true", "HX-Target": "history-results"},
    )
    html = response.content.decode()
    assert "<h1>" not in html
    assert 'id="history-tabs" aria-label="Entry types" hx-swap-oob="true"' in html
    assert re.search(r'id="history-export" hx-swap-oob="true"', html)
    assert re.search(r'href="/sync/history/export/\?[^"]*status=complete', html)
    assert len(row_ids(response)) == 1


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


def count_queries_for(client, query) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(HISTORY, query).status_code == 200
    return len(queries)


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


# --- Update Sync Status ---------------------------------------------------------------------------


def test_update_to_complete_after_a_manual_reconcile(signed_in, accountant, xero):
    failed = [make_record(connection=xero) for _ in range(2)]
    untouched = make_record(connection=xero)
    response = signed_in.post(
        UPDATE,
        {
            "tab": "bill",
            "status": "failed",
            "scope": "selected",
            "record_ids": [record.pk for record in failed],
            "to_status": "complete",
            "note": "Entered by hand in Xero",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(HISTORY + "?")
    assert "status=failed" in response["Location"]
    assert messages_of(response) == ["2 records marked Complete."]
    for record in failed:
        record.refresh_from_db()
        assert record.status == RecordStatus.COMPLETE
        change = record.status_changes.get()
        assert (change.actor, change.from_status, change.to_status, change.note) == (
            accountant,
            RecordStatus.FAILED,
            RecordStatus.COMPLETE,
            "Entered by hand in Xero",
        )
    untouched.refresh_from_db()
    assert untouched.status == RecordStatus.FAILED
    # The reconciled records have left the Failed filter.
    assert row_ids(signed_in.get(HISTORY)) == [untouched.pk]


def test_complete_refuses_records_that_are_not_failed(signed_in, xero):
    failed = make_record(connection=xero)
    pending = make_record(connection=xero, status=RecordStatus.PENDING)
    response = signed_in.post(
        UPDATE,
        {"scope": "selected", "record_ids": [failed.pk, pending.pk], "to_status": "complete"},
    )
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert message.startswith("Nothing was changed: 1 of the 2 selected records is not Failed.")
    assert "Only failed records can be marked Complete" in message
    failed.refresh_from_db()
    assert failed.status == RecordStatus.FAILED
    assert not SyncStatusChange.objects.exists()


def test_update_to_pending_for_a_fresh_attempt(signed_in, accountant, xero):
    complete = make_record(connection=xero, status=RecordStatus.COMPLETE, synced_at=days_ago(3))
    failed = make_record(connection=xero)
    response = signed_in.post(
        UPDATE,
        {
            "status": "complete",
            "scope": "selected",
            "record_ids": [complete.pk, failed.pk],
            "to_status": "pending",
        },
    )
    assert messages_of(response) == ["2 records set to Pending: ledgersync pushes them again now."]
    assert "status=complete" in response["Location"]
    for record, was in ((complete, RecordStatus.COMPLETE), (failed, RecordStatus.FAILED)):
        record.refresh_from_db()
        assert record.status == RecordStatus.PENDING
        change = record.status_changes.get()
        assert (change.actor, change.from_status, change.to_status, change.note) == (
            accountant,
            was,
            RecordStatus.PENDING,
            "",
        )


def test_select_all_matching_acts_on_every_record_of_the_filter(signed_in, xero):
    matching = [make_record(connection=xero) for _ in range(55)]
    other_tab = make_record(connection=xero, entry_type=EntryType.INVOICE)
    out_of_range = make_record(connection=xero, updated_at=days_ago(90))
    page = signed_in.get(HISTORY)
    assert len(row_ids(page)) == 50
    assert b"Select all 55 matching" in page.content

    today = timezone.localdate()
    response = signed_in.post(
        UPDATE,
        {
            "tab": "bill",
            "status": "failed",
            "date_from": one_month_before(today).isoformat(),
            "date_to": today.isoformat(),
            "scope": "matching",
            "to_status": "complete",
        },
    )
    assert messages_of(response) == ["55 records marked Complete."]
    assert SyncRecord.objects.filter(status=RecordStatus.COMPLETE).count() == 55
    assert {c.record_id for c in SyncStatusChange.objects.all()} == {r.pk for r in matching}
    for record in (other_tab, out_of_range):
        record.refresh_from_db()
        assert record.status == RecordStatus.FAILED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "selected", "to_status": "complete"}, "Select at least one record."),
        ({"scope": "selected", "record_ids": ["x1"], "to_status": "complete"}, "not valid"),
        ({"scope": "selected", "record_ids": ["9" * 30], "to_status": "complete"}, "not valid"),
        ({"scope": "everything", "record_ids": ["1"], "to_status": "complete"}, "valid choice"),
        ({"scope": "selected", "record_ids": ["1"], "to_status": "failed"}, "valid choice"),
        ({"scope": "selected", "record_ids": ["1"]}, "required"),
        (
            {"scope": "matching", "to_status": "complete", "date_from": "nope"},
            "Fix the filters first",
        ),
        (
            {"scope": "matching", "to_status": "complete", "tab": "invoice"},
            "No record matches these filters",
        ),
    ],
)
def test_bad_update_input_is_a_message_not_500(signed_in, xero, data, message):
    record = make_record(connection=xero)
    response = signed_in.post(UPDATE, data)
    assert response.status_code == 302
    assert any(message in text for text in messages_of(response))
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED


def test_other_organisations_record_ids_are_404_and_unchanged(signed_in, other_org, xero):
    foreign = make_record(connection=make_connection(other_org))
    data = {"scope": "selected", "record_ids": [foreign.pk], "to_status": "complete"}
    assert_not_found_for_other_tenant(signed_in, "post", UPDATE, data)
    foreign.refresh_from_db()
    assert foreign.status == RecordStatus.FAILED

    mine = make_record(connection=xero)
    data["record_ids"] = [foreign.pk, mine.pk]
    response = signed_in.post(UPDATE, data)
    assert messages_of(response) == ["1 record marked Complete."]
    foreign.refresh_from_db()
    mine.refresh_from_db()
    assert (foreign.status, mine.status) == (RecordStatus.FAILED, RecordStatus.COMPLETE)
    assert not foreign.status_changes.exists()


def test_a_failure_from_the_engine_is_listed_and_can_be_sent_again(
    client, org, clerk, accountant, connection, drain
):
    """End to end: a bill whose category has no account mapping fails (4000) and shows here with
    the explanation; set to Pending it is pushed again (and fails again, still unmapped)."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    document = DocumentFactory(org=org, category=travel, number="TRV-1")
    document_services.document_approve(document=document, actor=clerk)
    drain()
    record = SyncRecord.objects.get(document=document)
    assert record.status == RecordStatus.FAILED

    client.force_login(accountant)
    response = client.get(HISTORY)
    assert row_ids(response) == [record.pk]
    html = response.content.decode()
    assert "TRV-1" in html
    assert "4000" in html
    assert record.last_error_explanation in html

    client.post(UPDATE, {"scope": "selected", "record_ids": [record.pk], "to_status": "pending"})
    record.refresh_from_db()
    assert (record.status, record.pending_reason) == (RecordStatus.PENDING, "status set to Pending")
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.attempts.count() == 2
    assert record.attempts.first().actor == accountant
