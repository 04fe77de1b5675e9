"""The Sync Health dashboard: totals per status code for the period, search, filter, sort,
pagination, and a query count that does not grow with the runs."""

import datetime
import json
import re

from django.utils import timezone

from integrations.models import Connection, Provider
from synclog.models import (
    StatusCode,
)
from tests.synclog.health.conftest import (
    ACCOUNTING,
    ADMIN,
    SUPPORT,
    count_queries,
    health_url,
    make_run,
    member,
    run_url,
    shown_run_ids,
)

# --- dashboard: totals, period, search, filter, sort ---------------------------------------------


def test_totals_per_status_code_for_the_period(client, org, books, other_books):
    now = timezone.now()
    for code, count in (
        (StatusCode.SUCCESS, 3),
        (StatusCode.NOTHING_TO_PUSH, 1),
        (StatusCode.CONFIGURATION, 2),
        (StatusCode.DATA_PUSH, 1),
    ):
        for _ in range(count):
            make_run(books, code=code)
    make_run(books, code=StatusCode.IN_PROGRESS, finished=False)  # just started: 1000
    make_run(  # running for half an hour: shown as 1010
        books,
        code=StatusCode.IN_PROGRESS,
        started=now - datetime.timedelta(minutes=30),
        finished=False,
    )
    make_run(books, started=now - datetime.timedelta(days=8))  # before the default period
    make_run(other_books, code=StatusCode.DUPLICATION)  # another tenant
    client.force_login(member(org, ACCOUNTING))
    response = client.get(health_url())
    totals = {t.code: t.count for t in response.context["totals"]}
    assert [t.code for t in response.context["totals"]] == [c.value for c in StatusCode]
    assert totals == {
        1000: 1,
        1010: 1,
        2000: 3,
        2040: 1,
        4000: 2,
        4040: 0,
        4220: 0,
        4260: 0,
        5000: 0,
        5080: 0,
        5120: 0,
        5130: 1,
    }
    page = response.content.decode()
    assert 'id="health-chart-data"' in page
    chart = json.loads(
        re.search(r'id="health-chart-data" type="application/json">(.*?)</script>', page).group(1)
    )
    assert dict(zip(chart["codes"], chart["counts"], strict=True)) == totals
    # The table of numbers is there whether or not the chart draws.
    assert 'id="totals-table"' in page
    assert "Configuration error" in page
    # The long-running run is shown as 1010 in the history too.
    assert len(shown_run_ids(response)) == 9
    codes = {run.shown_code for run in response.context["page"]}
    assert StatusCode.IN_PROGRESS_LONG in codes


def test_the_default_period_is_the_last_seven_days(client, org, books):
    recent = make_run(books)
    old = make_run(books, started=timezone.now() - datetime.timedelta(days=8))
    client.force_login(member(org, SUPPORT))
    response = client.get(health_url())
    today = timezone.localdate()
    assert response.context["form"]["date_from"].value() == str(today - datetime.timedelta(days=6))
    assert response.context["form"]["date_to"].value() == str(today)
    assert shown_run_ids(response) == [str(recent.public_id)]
    older = (today - datetime.timedelta(days=10)).isoformat()
    response = client.get(health_url(date_from=older, date_to=today.isoformat()))
    assert shown_run_ids(response) == [str(recent.public_id), str(old.public_id)]
    # Cleared dates: no bound at all.
    assert len(shown_run_ids(client.get(health_url(date_from="", date_to="")))) == 2


def test_bad_filters_are_form_errors_not_500(client, org, books):
    make_run(books)
    client.force_login(member(org, SUPPORT))
    for params in (
        {"date_from": "yesterday"},
        {"date_from": "2026-12-01", "date_to": "2026-11-01"},
        {"status_code": "1234"},
        {"status_code": "abc"},
        {"page": "999"},
        {"page": "x"},
    ):
        response = client.get(health_url(**params))
        assert response.status_code == 200, params
    response = client.get(health_url(date_from="2026-12-01", date_to="2026-11-01"))
    assert "before its start" in response.content.decode()


def test_search_by_sync_id_prefix_and_organisation(client, org, books):
    first = make_run(books)
    second = make_run(books)
    client.force_login(member(org, SUPPORT))
    prefix = str(first.public_id)[:6]
    assert shown_run_ids(client.get(health_url(q=prefix))) == [str(first.public_id)]
    # With or without hyphens, any case.
    with_hyphen = str(second.public_id)[:13].upper()
    assert shown_run_ids(client.get(health_url(q=with_hyphen))) == [str(second.public_id)]
    # The whole id opens that sync.
    response = client.get(health_url(q=str(first.public_id)))
    assert response.status_code == 302
    assert response.url == run_url(first)
    # The organisation (this one) or its ledger organisation.
    assert len(shown_run_ids(client.get(health_url(q="acme")))) == 2
    assert len(shown_run_ids(client.get(health_url(q="Demo Comp")))) == 2
    assert shown_run_ids(client.get(health_url(q="nothing-like-this"))) == []


def test_filter_by_status_code_including_long_running(client, org, books):
    failed = make_run(books, code=StatusCode.DATA_PUSH)
    make_run(books)
    long = make_run(
        books,
        code=StatusCode.IN_PROGRESS,
        started=timezone.now() - datetime.timedelta(hours=1),
        finished=False,
    )
    client.force_login(member(org, SUPPORT))
    assert shown_run_ids(client.get(health_url(status_code=5130))) == [str(failed.public_id)]
    assert shown_run_ids(client.get(health_url(status_code=1010))) == [str(long.public_id)]
    assert shown_run_ids(client.get(health_url(status_code=1000))) == []


def test_sort_whitelist(client, org, books):
    now = timezone.now()
    slow = make_run(books, code=StatusCode.DATA_PUSH, started=now - datetime.timedelta(hours=2))
    slow.finished_at = slow.started_at + datetime.timedelta(minutes=20)
    slow.save()
    quick = make_run(books, started=now - datetime.timedelta(hours=1))
    running = make_run(books, code=StatusCode.IN_PROGRESS, finished=False)
    client.force_login(member(org, SUPPORT))
    ids = {run.pk: str(run.public_id) for run in (slow, quick, running)}

    def order(sort):
        response = client.get(health_url(sort=sort))
        assert response.status_code == 200
        return shown_run_ids(response)

    assert order("-started") == [ids[running.pk], ids[quick.pk], ids[slow.pk]]
    assert order("started") == [ids[slow.pk], ids[quick.pk], ids[running.pk]]
    # Unfinished runs have no duration yet: last either way.
    assert order("-duration") == [ids[slow.pk], ids[quick.pk], ids[running.pk]]
    assert order("duration") == [ids[quick.pk], ids[slow.pk], ids[running.pk]]
    assert order("status") == [ids[running.pk], ids[quick.pk], ids[slow.pk]]
    assert order("-status") == [ids[slow.pk], ids[quick.pk], ids[running.pk]]
    # Anything else is the default, never a 500 nor raw SQL ordering.
    for bad in ("bogus", "password", "-org__name", "started_at; drop table"):
        assert order(bad) == order("-started")
    assert client.get(health_url(sort="bogus")).context["sort"] == "-started"


def test_history_paginates(client, org, books):
    for _ in range(30):
        make_run(books)
    client.force_login(member(org, SUPPORT))
    first = client.get(health_url())
    assert len(shown_run_ids(first)) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert len(shown_run_ids(client.get(health_url(page=2)))) == 5


def test_empty_history_says_what_to_do(client, org, books):
    client.force_login(member(org, SUPPORT))
    page = client.get(health_url()).content.decode()
    assert "No syncs match. Widen the period or clear the search" in page


# --- query counts --------------------------------------------------------------------------------


def test_dashboard_query_count_does_not_grow_with_runs(client, org, books):
    client.force_login(member(org, SUPPORT))
    other = Connection.objects.create(org=org, provider=Provider.XERO, name="Second")
    for index in range(5):
        make_run(books if index % 2 else other, actor=member(org, ADMIN))
    few = count_queries(client, health_url())
    for index in range(45):
        make_run(books if index % 2 else other, actor=member(org, ADMIN))
    assert count_queries(client, health_url()) == few
    assert count_queries(client, health_url(sort="-duration", q="Books")) <= few


def test_a_runs_row_counts_its_items_fixed_since(client, org, books):
    """Seen walking the demo: a row read Items 4, Pushed 0, Nothing 2, Failed 1, the fourth
    item fixed since (marked Complete) and nowhere in the row, as a run's page shows it."""
    run = make_run(
        books, code=StatusCode.DATA_PUSH, total=4, pushed=0, nothing_to_push=2, failed=1, resolved=1
    )
    client.force_login(member(org, SUPPORT))
    html = client.get(health_url()).content.decode()
    row = re.search(rf'<tr data-run-id="{run.public_id}">(.*?)</tr>', html, re.S).group(1)
    assert "+ 1 fixed since" in row
    quiet = make_run(books, total=1, pushed=1)
    html = client.get(health_url()).content.decode()
    row = re.search(rf'<tr data-run-id="{quiet.public_id}">(.*?)</tr>', html, re.S).group(1)
    assert "fixed since" not in row
