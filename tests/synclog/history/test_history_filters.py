"""The Sync History page's filters: tab, status, date range in the user's time zone, connection,
bad input as form errors, another organisation's records never shown, htmx swaps."""

import datetime
import re

import pytest
from django.utils import timezone

from synclog.filters import one_month_before
from synclog.models import EntryType, RecordStatus
from tests.factories import MembershipFactory
from tests.synclog.history import days_ago, make_connection, make_record
from tests.synclog.history.conftest import (
    ADMIN,
    HISTORY,
    row_ids,
)

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
