"""A sync run's page: its items in record order, query counts, a failing run explained and
retried after the fix, and its error summary."""

from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from synclog.models import (
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from tests.factories import DocumentFactory, SyncRecordFactory
from tests.ledger_fixtures import map_to_account
from tests.synclog.health.conftest import (
    ACCOUNTING,
    SUPPORT,
    add_items,
    count_queries,
    make_run,
    member,
    run_url,
)


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
            SyncRecordFactory(
                connection=books, document=document, status=RecordStatus.COMPLETE, run=run
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

    map_to_account(connection, failing_run.travel, "493")
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


def test_the_error_summary_follows_the_runs_counts(client, org, failing_run, connection, drain):
    """The summary is kept in the cache for the run's counts: fixed items leave it at once."""
    from synclog.selectors import health as selectors

    client.force_login(member(org, SUPPORT))
    groups = client.get(run_url(failing_run)).context["error_groups"]
    assert [g["count"] for g in groups] == [2]
    assert selectors.sync_run_error_summary(run=failing_run) == groups  # from the cache
    map_to_account(connection, failing_run.travel, "493")
    client.post(reverse("synclog:health-run-retry", args=[failing_run.public_id]))
    drain()
    failing_run.refresh_from_db()
    assert (failing_run.failed, failing_run.resolved) == (0, 2)
    assert client.get(run_url(failing_run)).context["error_groups"] == []


def failed_items(run, count):
    """`count` documents whose bill failed in `run`: the items Failed, their records too."""
    records = []
    for index in range(count):
        document = DocumentFactory(org=run.org, number=f"{run.pk}-FAIL-{index:03d}")
        record = SyncRecordFactory(
            connection=run.connection,
            document=document,
            status=RecordStatus.FAILED,
            last_error_code=StatusCode.CONFIGURATION,
            last_error_message="Category Travel is not mapped.",
            run=run,
        )
        SyncRunItem.objects.create(
            run=run,
            record=record,
            outcome=RunItemOutcome.FAILED,
            status_code=StatusCode.CONFIGURATION,
        )
        records.append(record)
    return records


def test_the_retry_count_is_kept_until_a_record_enters_or_leaves_failed(
    client, org, books, other_books
):
    """Retry failed items counts the run's failed items whose records are still Failed, from
    the cache until the run's counts or any of its organisation's Failed records change: a
    record pushed again (Pending) leaves the count at once, with a fold in between or not."""
    from synclog import services
    from synclog.selectors.attention import attention_failed_version

    client.force_login(member(org, SUPPORT))
    run = make_run(books, code=StatusCode.CONFIGURATION, failed=3)
    records = failed_items(run, 3)
    other_run = make_run(other_books, code=StatusCode.CONFIGURATION, failed=1)
    (other_record,) = failed_items(other_run, 1)

    def retry_count():
        with CaptureQueriesContext(db) as captured:
            count = client.get(run_url(run)).context["retryable"]
        counted = any(
            q["sql"].startswith("SELECT COUNT(*)")
            and 'FROM "synclog_syncrunitem" INNER JOIN "synclog_syncrecord"' in q["sql"]
            for q in captured.captured_queries
        )
        return count, counted

    assert retry_count() == (3, True)
    assert retry_count() == (3, False)  # kept: nothing changed
    # One is pushed again by another sync: Pending, the run's counts unchanged.
    SyncRecord.objects.filter(pk=records[0].pk).update(status=RecordStatus.PENDING)
    assert retry_count() == (2, True)
    services.attention_fold(org_id=org.pk)  # Requires attention (or the sweep) folds
    assert retry_count() == (2, False)
    SyncRecord.objects.filter(pk=records[0].pk).update(status=RecordStatus.FAILED)
    assert retry_count() == (3, True)
    # Another tenant's records move the other organisation's version, not this one's.
    version = attention_failed_version(org_id=org.pk)
    other_version = attention_failed_version(org_id=other_books.org_id)
    SyncRecord.objects.filter(pk=other_record.pk).update(status=RecordStatus.PENDING)
    assert attention_failed_version(org_id=org.pk) == version
    assert attention_failed_version(org_id=other_books.org_id) == other_version + 1
    assert retry_count() == (3, False)
    # A fold does not move it: a change is counted once, pending or folded.
    services.attention_fold(org_id=other_books.org_id)
    assert attention_failed_version(org_id=other_books.org_id) == other_version + 1


def test_an_item_marked_complete_by_hand_says_so_not_that_it_reached_the_ledger(
    client, org, failing_run, connection, clerk, drain
):
    """One failure is fixed by a push of ours (its category mapped, re-synced), the other
    marked Complete by hand: both are Fixed since, and only the first is in the ledger since."""
    from synclog import services

    pushed = SyncRecord.objects.get(document__number="TRV-1")
    marked = SyncRecord.objects.get(document__number="TRV-2")
    map_to_account(connection, failing_run.travel, "493")
    services.resync(document=pushed.document, connection=connection, entry="bill", actor=clerk)
    drain()
    accounting = member(org, ACCOUNTING)
    services.sync_status_update(
        org=org,
        record_ids=[marked.pk],
        to_status=RecordStatus.COMPLETE,
        actor=accounting,
        note="Entered in Xero by hand",
    )
    client.force_login(accounting)
    page = client.get(run_url(failing_run)).content.decode()

    def row(record):
        return page[page.index(f'<tr data-record-id="{record.pk}"') :].split("</tr>")[0]

    assert "In the ledger since" in row(pushed) and "Marked Complete" not in row(pushed)
    assert "In the ledger since" not in row(marked)
    assert f"Marked Complete by {accounting.username} on " in row(marked)
    assert "“Entered in Xero by hand”" in row(marked)
