"""Sync Health pages and Force sync: roles, tenant isolation, totals, search, sort, query counts,
a failing run explained and retried, and the connection's configuration without secrets."""

import datetime
import json
import re
import uuid

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import Role
from documents import services as document_services
from integrations import services as integration_services
from integrations.models import Connection, ConnectionStatus, Mapping, MappingKind, Provider
from synclog.models import (
    EntryType,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant

ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT
HEALTH_ROLES = {ADMIN, ACCOUNTING, SUPPORT}
SIGN_IN = re.compile(r"^/sign-in/\?next=")


@pytest.fixture
def books(org):
    """A connection for page-only tests (no ledger behind it)."""
    return Connection.objects.create(
        org=org,
        provider=Provider.XERO,
        name="Books",
        tenant_id="tenant-123",
        tenant_name="Demo Company",
        settings={"payment_account_code": "090"},
    )


@pytest.fixture
def other_books(other_org):
    return Connection.objects.create(
        org=other_org, provider=Provider.XERO, name="Other books", tenant_name="Globex Ledger"
    )


def member(org, role):
    return MembershipFactory(org=org, role=role).user


def make_run(connection, *, code=StatusCode.SUCCESS, started=None, finished=True, **fields):
    started = started or timezone.now() - datetime.timedelta(minutes=5)
    return SyncRun.objects.create(
        org=connection.org,
        connection=connection,
        trigger=fields.pop("trigger", Trigger.BULK),
        status_code=code,
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=30) if finished else None,
        **fields,
    )


def add_items(run, count, *, outcome=RunItemOutcome.PUSHED):
    """`count` documents, each with a bill record pushed in `run`."""
    for index in range(count):
        document = DocumentFactory(org=run.org, number=f"{run.pk}-DOC-{index:03d}")
        record = SyncRecord.objects.create(
            org=run.org,
            connection=run.connection,
            document=document,
            entry_type=EntryType.BILL,
            status=RecordStatus.COMPLETE,
            run=run,
        )
        SyncRunItem.objects.create(
            run=run, record=record, outcome=outcome, status_code=StatusCode.SUCCESS
        )


def health_url(**params):
    url = reverse("synclog:health")
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def run_url(run):
    return reverse("synclog:health-run", args=[run.public_id])


def shown_run_ids(response) -> list[str]:
    return [str(run.public_id) for run in response.context["page"]]


# --- roles ---------------------------------------------------------------------------------------


PAGES = [
    ("dashboard", lambda run, conn: health_url()),
    ("run", lambda run, conn: run_url(run)),
    ("config", lambda run, conn: reverse("synclog:health-connection-config", args=[conn.pk])),
    (
        "config download",
        lambda run, conn: reverse("synclog:health-connection-config-download", args=[conn.pk]),
    ),
    ("last runs", lambda run, conn: reverse("synclog:health-connection-runs", args=[conn.pk])),
]


@pytest.mark.parametrize("role", [ADMIN, CLERK, ACCOUNTING, SUPPORT])
@pytest.mark.parametrize(("name", "url_for"), PAGES, ids=[p[0] for p in PAGES])
def test_health_pages_by_role(client, org, books, role, name, url_for):
    run = make_run(books)
    client.force_login(member(org, role))
    response = client.get(url_for(run, books))
    if role in HEALTH_ROLES:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert SIGN_IN.match(response.url)


@pytest.mark.parametrize(("name", "url_for"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_is_sent_to_sign_in(client, books, name, url_for):
    response = client.get(url_for(make_run(books), books))
    assert response.status_code == 302
    assert SIGN_IN.match(response.url)


def test_anonymous_cannot_retry(client, books):
    run = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    response = client.post(reverse("synclog:health-run-retry", args=[run.public_id]))
    assert response.status_code == 403
    assert SyncRun.objects.count() == 1


@pytest.mark.parametrize("role", [ADMIN, CLERK, ACCOUNTING, SUPPORT])
def test_only_support_and_admin_retry_failed_items(client, org, books, role):
    run = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    client.force_login(member(org, role))
    page = client.get(run_url(run))
    response = client.post(reverse("synclog:health-run-retry", args=[run.public_id]))
    if role in (ADMIN, SUPPORT):
        assert 'id="retry-failed"' in page.content.decode()
        assert response.status_code == 302
        return
    # Accounting sees the run without the button; a clerk cannot open the page at all.
    assert 'id="retry-failed"' not in page.content.decode()
    assert response.status_code == 403
    assert SyncRun.objects.count() == 1


def test_a_role_without_retry_failed_gets_403_and_no_button(client, org, books, monkeypatch):
    monkeypatch.setitem(
        permissions.ROLE_PERMISSIONS,
        SUPPORT,
        permissions.ROLE_PERMISSIONS[SUPPORT] - {permissions.Perm.RETRY_FAILED},
    )
    run = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    client.force_login(member(org, SUPPORT))
    assert 'id="retry-failed"' not in client.get(run_url(run)).content.decode()
    response = client.post(reverse("synclog:health-run-retry", args=[run.public_id]))
    assert response.status_code == 403
    assert SyncRun.objects.count() == 1


def test_retry_button_is_disabled_when_nothing_failed(client, org, books):
    client.force_login(member(org, SUPPORT))
    clean = make_run(books, total=2, pushed=2)
    page = client.get(run_url(clean)).content.decode()
    assert re.search(r'<button type="submit" id="retry-failed"\s+disabled', page)
    failed = make_run(books, code=StatusCode.CONFIGURATION, total=2, failed=1)
    add_items(failed, 1, outcome=RunItemOutcome.FAILED)
    SyncRecord.objects.filter(run=failed).update(status=RecordStatus.FAILED)
    page = client.get(run_url(failed)).content.decode()
    assert not re.search(r'id="retry-failed"\s+disabled', page)
    assert "Retry failed items (1)" in page
    # Pushed again since (Pending now): nothing is left for a retry to push.
    SyncRecord.objects.filter(run=failed).update(status=RecordStatus.PENDING)
    page = client.get(run_url(failed)).content.decode()
    assert re.search(r'<button type="submit" id="retry-failed"\s+disabled', page)


def test_retrying_a_run_with_nothing_failed_says_so(client, org, books):
    run = make_run(books, total=1, pushed=1)
    client.force_login(member(org, SUPPORT))
    response = client.post(reverse("synclog:health-run-retry", args=[run.public_id]), follow=True)
    assert response.redirect_chain[-1][0] == run_url(run)
    assert "no failed items" in response.content.decode()
    assert SyncRun.objects.count() == 1


# --- tenant isolation ----------------------------------------------------------------------------


def test_another_organisations_run_and_connection_are_not_found(client, org, books, other_books):
    theirs = make_run(other_books, code=StatusCode.CONFIGURATION, failed=1)
    client.force_login(member(org, ADMIN))
    assert_not_found_for_other_tenant(client, "get", run_url(theirs))
    assert_not_found_for_other_tenant(
        client, "post", reverse("synclog:health-run-retry", args=[theirs.public_id])
    )
    for name in (
        "synclog:health-connection-config",
        "synclog:health-connection-config-download",
        "synclog:health-connection-runs",
    ):
        assert_not_found_for_other_tenant(client, "get", reverse(name, args=[other_books.pk]))
    assert_not_found_for_other_tenant(
        client, "post", reverse("integrations:action", args=[other_books.pk, "force"])
    )
    assert SyncRun.objects.count() == 1


def test_the_dashboard_never_shows_another_organisations_runs(client, org, books, other_books):
    mine = make_run(books)
    theirs = make_run(other_books)
    client.force_login(member(org, SUPPORT))
    response = client.get(health_url())
    assert shown_run_ids(response) == [str(mine.public_id)]
    assert sum(t.count for t in response.context["totals"]) == 1
    # Not by their organisation's name, their ledger's name, nor their sync id.
    for query in ("Globex", "Globex Ledger", str(theirs.public_id)[:8]):
        assert shown_run_ids(client.get(health_url(q=query))) == []
    response = client.get(health_url(q=str(theirs.public_id)))
    assert response.status_code == 200
    assert shown_run_ids(response) == []


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


def count_queries(client, url) -> int:
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


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


def test_run_page_query_count_does_not_grow_with_items(client, org, books):
    client.force_login(member(org, SUPPORT))
    small = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    add_items(small, 5)
    large = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    add_items(large, 50)
    assert count_queries(client, run_url(large)) == count_queries(client, run_url(small))


def test_run_page_query_count_does_not_grow_with_pages_of_items(
    client, org, books, django_assert_max_num_queries
):
    client.force_login(member(org, SUPPORT))
    small = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    add_items(small, 2)
    large = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    add_items(large, 120)
    few = count_queries(client, run_url(small))
    for query, shown in (("?page=3", 20), ("?outcome=pushed&page=2", 50), ("?q=DOC&page=2", 50)):
        with django_assert_max_num_queries(few):
            response = client.get(run_url(large) + query)
        assert len(response.context["page"]) == shown


def test_run_items_are_in_record_order_on_every_page(client, org, books, other_books):
    """Items are listed by record (the Record column), whatever order the run added them in,
    each exactly once across the pages, with the outcome filter and the search too."""
    run = make_run(books, code=StatusCode.CONFIGURATION, failed=1)
    records = []
    for index in range(60):
        # Numbers in another order than the records'.
        document = DocumentFactory(org=org, number=f"ORD-{index * 37 % 60:03d}")
        records.append(
            SyncRecord.objects.create(
                org=org,
                connection=books,
                document=document,
                entry_type=EntryType.BILL,
                status=RecordStatus.COMPLETE,
                run=run,
            )
        )
    # Added in another order than the records': reversed, the failed ones interleaved.
    for index, record in enumerate(reversed(records)):
        SyncRunItem.objects.create(
            run=run,
            record=record,
            outcome=RunItemOutcome.FAILED if index % 3 == 0 else RunItemOutcome.PUSHED,
        )
    # Another organisation's run has items too: none of them shows here.
    theirs = make_run(other_books)
    add_items(theirs, 3)
    client.force_login(member(org, SUPPORT))

    def listed(**params) -> list[int]:
        from urllib.parse import urlencode

        shown, number = [], 1
        while True:
            response = client.get(run_url(run) + "?" + urlencode({**params, "page": number}))
            page = response.context["page"]
            shown += [item.record_id for item in page]
            assert all(item.record.document.number.startswith("ORD-") for item in page)
            if not page.has_next():
                return shown
            number += 1

    all_ids = sorted(record.pk for record in records)
    assert listed() == all_ids
    failed = sorted(
        SyncRunItem.objects.filter(run=run, outcome="failed").values_list("record_id", flat=True)
    )
    assert listed(outcome="failed") == failed
    assert listed(q="ORD-0") == all_ids
    assert listed(q="ORD-05") == sorted(
        record.pk for record in records if record.document.number.startswith("ORD-05")
    )


# --- a failing run, explained, retried after the fix (the engine with the Xero emulator) ---------


@pytest.fixture
def failing_run(org, clerk, connection, drain, office):
    """A bulk re-sync of three bills, two of which book to a category Xero has no account for."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    documents = [
        DocumentFactory(org=org, category=office, number="OK-1"),
        DocumentFactory(org=org, category=travel, number="TRV-1"),
        DocumentFactory(org=org, category=travel, number="TRV-2"),
    ]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    from synclog import services

    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    run.refresh_from_db()
    assert (run.failed, run.pushed, run.status_code) == (2, 1, StatusCode.CONFIGURATION)
    run.travel = travel
    return run


def test_a_failed_run_explains_its_items_and_groups_its_errors(client, org, failing_run):
    client.force_login(member(org, SUPPORT))
    response = client.get(run_url(failing_run))
    page = response.content.decode()
    assert "4000 Configuration error" in page
    assert "Category Travel has no Xero mapping." in page
    assert "Category Travel is not mapped to anything in Xero" in page
    assert "Map it in Integrations › Xero › Mappings, then re-sync." in page
    groups = response.context["error_groups"]
    assert [(g["count"], g["status_code"]) for g in groups] == [(2, StatusCode.CONFIGURATION)]
    assert "ledgersync · Acme" in page
    assert "Xero (Xero)" in page
    assert "Bulk" in page
    assert "Retry failed items (2)" in page
    # The run is finished: no polling.
    assert 'hx-trigger="every' not in page


def test_items_search_and_outcome_filter(client, org, failing_run):
    client.force_login(member(org, SUPPORT))

    def numbers(**params):
        from urllib.parse import urlencode

        response = client.get(run_url(failing_run) + "?" + urlencode(params))
        assert response.status_code == 200
        return sorted(item.record.document.number for item in response.context["page"])

    assert numbers() == ["OK-1", "TRV-1", "TRV-2"]
    assert numbers(outcome="failed") == ["TRV-1", "TRV-2"]
    assert numbers(outcome="pushed") == ["OK-1"]
    assert numbers(q="trv") == ["TRV-1", "TRV-2"]
    assert numbers(q="trv-2") == ["TRV-2"]
    record = SyncRecord.objects.get(document__number="OK-1")
    assert numbers(q=str(record.pk)) == ["OK-1"]
    assert numbers(q="bill") == ["OK-1", "TRV-1", "TRV-2"]
    assert numbers(q="Bill payment") == []
    assert numbers(outcome="nonsense") == ["OK-1", "TRV-1", "TRV-2"]


def test_retry_failed_items_after_the_fix(client, org, failing_run, connection, drain):
    support = member(org, SUPPORT)
    client.force_login(support)
    response = client.post(reverse("synclog:health-run-retry", args=[failing_run.public_id]))
    retry = SyncRun.objects.get(retry_of=failing_run)
    assert response.status_code == 302
    assert response.url == run_url(retry)
    assert (retry.trigger, retry.total, retry.actor) == (Trigger.RETRY, 2, support)
    page = client.get(run_url(retry)).content.decode()
    # In progress: the page polls for news.
    assert 'hx-trigger="every 2s"' in page
    assert "Retry of" in page
    # The original links to its retry.
    assert str(retry.public_id)[:8] in client.get(run_url(failing_run)).content.decode()

    account = next(
        a for a in integration_services.connector_for(connection).list_accounts() if a.code == "493"
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=failing_run.travel.pk,
        external_id=account.external_id,
        external_name=f"{account.code} {account.name}",
        extra=integration_services.account_mapping_extra(account),
    )
    drain()
    retry.refresh_from_db()
    assert (retry.status_code, retry.pushed, retry.failed) == (StatusCode.SUCCESS, 2, 0)
    # The poll answers with the live part only, which no longer polls.
    live = client.get(run_url(retry), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live")
    body = live.content.decode()
    assert '<div id="run-live"' in body
    assert "2000 Success, data pushed" in body
    assert 'hx-trigger="every' not in body
    assert "<html" not in body


# --- configuration -------------------------------------------------------------------------------


def test_configuration_page_and_download_never_show_secrets(client, org, connection, ledger):
    connection.settings = {
        **connection.settings,
        "api_key": "sk-planted-secret",
        "nested": {"refresh_token": "rt-planted-secret", "kept": "yes"},
    }
    connection.save()
    credentials = connection.credentials
    secrets = [
        credentials["access_token"],
        credentials["refresh_token"],
        connection.credentials_encrypted,
        "sk-planted-secret",
        "rt-planted-secret",
    ]
    client.force_login(member(org, SUPPORT))
    run = make_run(connection)
    pages = {
        "run": client.get(run_url(run)),
        "config": client.get(reverse("synclog:health-connection-config", args=[connection.pk])),
        "download": client.get(
            reverse("synclog:health-connection-config-download", args=[connection.pk])
        ),
    }
    for name, response in pages.items():
        body = response.content.decode()
        for secret in secrets:
            assert secret not in body, f"a secret reached the {name} page"
        assert "credentials_encrypted" not in body
        assert "access_token" not in body
    download = pages["download"]
    assert download["Content-Type"] == "application/json"
    assert download["Content-Disposition"] == (
        f'attachment; filename="xero-{connection.pk}-config.json"'
    )
    config = json.loads(download.content)
    assert config["provider"] == "xero"
    assert config["tenant_id"] == connection.tenant_id
    assert config["settings"]["payment_account_code"] == "090"
    assert config["settings"]["rate_limits"]["per_window"] == 100_000
    assert config["settings"]["nested"] == {"kept": "yes"}
    assert "api_key" not in config["settings"]
    office = Mapping.objects.filter(connection=connection, kind=MappingKind.ACCOUNT).first()
    row = next(m for m in config["mappings"] if m["local_id"] == office.local_id)
    assert row["local_name"] == "Office (429)"
    assert row["external_name"] == office.external_name
    assert row["kind_name"] == "Account"
    # The page shows the same mapping.
    assert "Office (429)" in pages["config"].content.decode()


def test_configuration_page_query_count_does_not_grow_with_mappings(client, org, books):
    client.force_login(member(org, SUPPORT))
    url = reverse("synclog:health-connection-config", args=[books.pk])

    def map_categories(count):
        for _ in range(count):
            category = CategoryFactory(org=org)
            Mapping.objects.create(
                connection=books,
                kind=MappingKind.ACCOUNT,
                local_id=category.pk,
                external_id=str(uuid.uuid4()),
                external_name="400 Advertising",
            )

    map_categories(5)
    few = count_queries(client, url)
    map_categories(45)
    assert count_queries(client, url) == few


# --- Force sync ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [CLERK, ACCOUNTING, SUPPORT])
def test_only_an_admin_may_force_sync(client, org, books, role):
    client.force_login(member(org, role))
    response = client.post(reverse("integrations:action", args=[books.pk, "force"]))
    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_force_sync_from_the_connection_page_creates_a_run(
    client, org, clerk, connection, drain, ledger, office
):
    documents = [DocumentFactory(org=org, category=office, number=f"F-{i}") for i in range(3)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    SyncRecord.objects.all().delete()  # as if they were approved before the connection existed
    admin = member(org, ADMIN)
    client.force_login(admin)
    detail = client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert 'id="force-sync"' in detail
    assert reverse("synclog:health-connection-runs", args=[connection.pk]) in detail

    response = client.post(reverse("integrations:action", args=[connection.pk, "force"]))
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response.url == run_url(run)
    assert (run.trigger, run.total, run.actor) == (Trigger.FORCE, 3, admin)
    drain()
    run.refresh_from_db()
    assert run.status_code == StatusCode.SUCCESS
    assert len(ledger.invoices()) == 3
    page = client.get(run_url(run)).content.decode()
    assert "Force sync" in page
    assert "2000 Success, data pushed" in page
    fragment = client.get(reverse("synclog:health-connection-runs", args=[connection.pk]))
    assert str(run.public_id)[:8] in fragment.content.decode()


def test_force_sync_on_a_disabled_connection_is_refused(client, org, books):
    books.status = ConnectionStatus.DISABLED
    books.save()
    client.force_login(member(org, ADMIN))
    detail = client.get(reverse("integrations:detail", args=[books.pk])).content.decode()
    assert 'id="force-sync"' not in detail
    response = client.post(reverse("integrations:action", args=[books.pk, "force"]), follow=True)
    assert "needs an active connection" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_the_error_summary_follows_the_runs_counts(client, org, failing_run, connection, drain):
    """The summary is kept in the cache for the run's counts: fixed items leave it at once."""
    from synclog.selectors import health as selectors

    client.force_login(member(org, SUPPORT))
    groups = client.get(run_url(failing_run)).context["error_groups"]
    assert [g["count"] for g in groups] == [2]
    assert selectors.sync_run_error_summary(run=failing_run) == groups  # from the cache
    account = next(
        a for a in integration_services.connector_for(connection).list_accounts() if a.code == "493"
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=failing_run.travel.pk,
        external_id=account.external_id,
        external_name=f"{account.code} {account.name}",
        extra=integration_services.account_mapping_extra(account),
    )
    client.post(reverse("synclog:health-run-retry", args=[failing_run.public_id]))
    drain()
    failing_run.refresh_from_db()
    assert (failing_run.failed, failing_run.resolved) == (0, 2)
    assert client.get(run_url(failing_run)).context["error_groups"] == []
