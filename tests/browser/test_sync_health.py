"""Sync Health in the browser: a support agent finds a failed sync by its id, reads why its items
failed, and retries them after the fix; an admin forces a sync from the connection page.

The ledger is the in-process Xero emulator (the `ledger` fixture routes every connector to it, in
the live server's thread too); pushes run in the test process, as a worker would run them.
"""

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from documents.models import DocumentStatus
from integrations import services as integration_services
from integrations.models import Connection
from synclog import services
from synclog.models import RecordStatus, StatusCode, SyncRecord, SyncRun, Trigger
from synclog.ratelimit import get_rate_limiter
from tests.browser.conftest import push_pending
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RUN_URL = re.compile(r"/sync/health/runs/[0-9a-f-]{36}/$")


@pytest.fixture
def chart_js(settings):
    """Serve Chart.js from node_modules as the dashboard expects (syncsvc/settings.py does the
    same once its STATICFILES_DIRS names it)."""
    entry = ("vendor/chartjs", settings.NODE_MODULES / "chart.js" / "dist")
    if entry not in settings.STATICFILES_DIRS:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, entry]


@pytest.fixture
def acme(ledger, enqueued):
    """Acme, connected to the emulated Xero; Office maps to account 429, Travel (999) to nothing."""
    admin = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc", user__username="ada")
    org = admin.org
    office = CategoryFactory(org=org, name="Office", code="429")
    travel = CategoryFactory(org=org, name="Travel", code="999")
    connection = XeroBooks(ledger).connect_org(org, tenant_name="Demo Company (Emulated)")
    accounts = integration_services.connector_for(connection).list_accounts()
    yield {
        "org": org,
        "admin": admin.user,
        "support": MembershipFactory(org=org, role=Role.SUPPORT, user__username="sam").user,
        "clerk": MembershipFactory(org=org, role=Role.AP_CLERK).user,
        "office": office,
        "travel": travel,
        "connection": connection,
        "accounts": accounts,
    }
    get_rate_limiter().reset(f"connection:{connection.pk}")


def failing_bulk_run(acme) -> SyncRun:
    """A bulk re-sync of three bills; the two booked to Travel fail (no account mapping)."""
    org, clerk = acme["org"], acme["clerk"]
    documents = [
        DocumentFactory(org=org, category=acme["office"], number="OFF-100"),
        DocumentFactory(org=org, category=acme["travel"], number="TRV-201"),
        DocumentFactory(org=org, category=acme["travel"], number="TRV-202"),
    ]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    push_pending(rounds=20)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    push_pending(rounds=20)
    run.refresh_from_db()
    assert (run.status_code, run.failed) == (StatusCode.CONFIGURATION, 2)
    return run


def map_travel(acme) -> None:
    account = next(a for a in acme["accounts"] if a.code == "493")
    integration_services.mapping_set_account(
        connection=acme["connection"], category_id=acme["travel"].pk, account=account
    )


def test_support_finds_a_failed_sync_and_retries_it_after_the_fix(
    page, live_server, screenshot, sign_in_as, acme, chart_js, ledger
):
    failed_run = failing_bulk_run(acme)
    # Some history around it: an older success and one that the ledger rejected.
    for code in (StatusCode.SUCCESS, StatusCode.SUCCESS, StatusCode.DATA_PUSH):
        run = SyncRun.objects.create(
            org=acme["org"], connection=acme["connection"], trigger=Trigger.API, status_code=code
        )
        SyncRun.objects.filter(pk=run.pk).update(finished_at=run.started_at, total=1)

    sign_in_as("sam")
    page.goto(f"{live_server.url}/sync/health/")
    expect(page.get_by_role("heading", name="Sync Health")).to_be_visible()
    totals = page.locator("#totals-table")
    expect(totals.locator("tr[data-code='4000'] td").nth(2)).to_have_text("1")
    expect(totals.locator("tr[data-code='2000'] td").nth(2)).to_have_text("2")
    expect(totals.locator("tr[data-code='5130'] td").nth(2)).to_have_text("1")
    # Chart.js draws the same numbers beside the table.
    expect(page.locator("#totals-chart")).to_be_visible()
    expect(page.locator("#totals-canvas")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#run-table tbody tr")).to_have_count(4)
    screenshot("sync-health-dashboard")

    # Find the failed sync by the first characters of its id.
    prefix = str(failed_run.public_id)[:8]
    page.get_by_label("Sync id or organisation").fill(prefix)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"q={prefix}"))
    rows = page.locator("#run-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("4000")
    rows.first.get_by_role("link", name=prefix).click()

    # Its details, errors grouped by cause, and each failed item with the explanation.
    expect(page).to_have_url(RUN_URL)
    expect(page.locator("#run-status")).to_have_text("4000 Configuration error")
    details = page.locator("#run-details")
    expect(details).to_contain_text("Bulk")
    expect(details).to_contain_text("ledgersync · Acme Inc")
    expect(details).to_contain_text("Xero (Xero) · Demo Company (Emulated)")
    expect(page.locator("#count-failed")).to_have_text("2")
    expect(page.locator("#run-errors")).to_contain_text("2 items")
    expect(page.locator("#run-errors")).to_contain_text("Category Travel is not mapped")
    failed_rows = page.locator("#item-table tbody tr.outcome-failed")
    expect(failed_rows).to_have_count(2)
    expect(failed_rows.first).to_contain_text("Category Travel has no Xero mapping.")
    expect(failed_rows.first).to_contain_text("How to fix: Map it in Integrations › Xero")
    page.get_by_label("Outcome").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#item-table tbody tr")).to_have_count(2)
    expect(page.locator("#item-table")).not_to_contain_text("OFF-100")
    page.get_by_text("Connection configuration: Xero").click()
    expect(page.locator("#mapping-table")).to_contain_text("Office (429)")
    expect(page.locator("#connection-config")).to_contain_text("Demo Company (Emulated)")
    screenshot("sync-health-run-failed")

    # The fix (an admin maps Travel), then Retry failed items: a new sync of the two.
    map_travel(acme)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retry failed items (2)").click()
    expect(page.locator(".messages")).to_contain_text("Retrying 2 failed items")
    expect(page.locator("#run-status")).to_have_text("1000 In progress")
    expect(page.locator("#run-details")).to_contain_text("Retry of")
    retry = SyncRun.objects.get(retry_of=failed_run)
    assert page.url.endswith(f"/sync/health/runs/{retry.public_id}/")
    assert retry.actor == acme["support"]

    # The workers push; the open page follows by itself until the sync ends.
    push_pending(rounds=20)
    expect(page.locator("#run-status")).to_have_text("2000 Success, data pushed")
    expect(page.locator("#count-pushed")).to_have_text("2")
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#item-table tbody tr.outcome-pushed")).to_have_count(2)
    expect(page.get_by_role("button", name="Retry failed items")).to_be_disabled()
    screenshot("sync-health-retry-succeeded")
    assert len(ledger.invoices()) == 3

    # The connection's configuration, as a page and as a JSON download.
    page.goto(f"{live_server.url}/sync/health/connections/{acme['connection'].pk}/config/")
    expect(page.locator("#mapping-table")).to_contain_text("Travel (999)")
    expect(page.locator("#connection-runs")).to_contain_text(str(retry.public_id)[:8])
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download JSON").or_(
            page.get_by_role("link", name="Download JSON")
        ).click()
    download = download_info.value
    assert download.suggested_filename == f"xero-{acme['connection'].pk}-config.json"
    content = Path(download.path()).read_text(encoding="utf-8")
    credentials = Connection.objects.get(pk=acme["connection"].pk).credentials
    assert credentials["access_token"] not in content
    assert credentials["refresh_token"] not in content
    assert "Travel (999)" in content
    screenshot("sync-health-connection-config")


def test_admin_forces_a_sync_and_lands_on_the_run(
    page, live_server, screenshot, sign_in_as, acme, ledger
):
    org = acme["org"]
    # Approved while nothing was connected: no record, so only a force sync pushes them.
    for index in range(2):
        DocumentFactory(
            org=org,
            category=acme["office"],
            number=f"LATE-{index}",
            status=DocumentStatus.APPROVED,
        )
    assert not SyncRecord.objects.exists()

    sign_in_as("ada")
    page.goto(f"{live_server.url}/integrations/{acme['connection'].pk}/")
    expect(page.locator("#connection-runs")).to_contain_text("No syncs through Xero yet")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Force sync").click()

    expect(page).to_have_url(RUN_URL)
    expect(page.locator(".messages")).to_contain_text("Force sync started: 2 entries to push.")
    expect(page.locator("#run-details")).to_contain_text("Force sync")
    expect(page.locator("#run-details")).to_contain_text("ada")
    run = SyncRun.objects.get()
    assert (run.trigger, run.total, run.actor) == (Trigger.FORCE, 2, acme["admin"])
    push_pending(rounds=20)
    expect(page.locator("#run-status")).to_have_text("2000 Success, data pushed")
    expect(page.locator("#item-table tbody tr.outcome-pushed")).to_have_count(2)
    screenshot("sync-health-force-sync-run")
    assert len(ledger.invoices()) == 2

    page.goto(f"{live_server.url}/integrations/{acme['connection'].pk}/")
    last_runs = page.locator("#connection-runs")
    expect(last_runs).to_contain_text(str(run.public_id)[:8])
    expect(last_runs).to_contain_text("Force sync")
    screenshot("connection-last-runs")


def test_without_chart_js_the_dashboard_is_the_table_of_numbers(
    page, live_server, screenshot, sign_in_as, acme
):
    for code in (StatusCode.SUCCESS, StatusCode.CONFIGURATION, StatusCode.CONFIGURATION):
        SyncRun.objects.create(
            org=acme["org"],
            connection=acme["connection"],
            trigger=Trigger.API,
            status_code=code,
            finished_at=timezone.now(),
        )
    # As if the script were missing or blocked.
    page.route("**/vendor/chartjs/**", lambda route: route.abort())
    sign_in_as("sam")
    page.goto(f"{live_server.url}/sync/health/")
    totals = page.locator("#totals-table")
    expect(totals.locator("tr[data-code='4000'] td").nth(2)).to_have_text("2")
    expect(totals.locator("tr[data-code='2000'] td").nth(2)).to_have_text("1")
    expect(page.locator("#totals-chart")).to_be_hidden()
    # A code in the table opens the history filtered to it.
    totals.get_by_role("link", name="Configuration error").click()
    expect(page).to_have_url(re.compile(r"status_code=4000"))
    expect(page.locator("#run-table tbody tr")).to_have_count(2)
    screenshot("sync-health-dashboard-without-chart")


def test_a_failure_fixed_since_is_no_longer_counted_or_offered_for_retry(
    page, live_server, screenshot, sign_in_as, acme, ledger
):
    """Issue 12 item 6: one of a sync's two failures is fixed by an edit (its automatic push
    succeeds); the sync's page then counts one failure, offers to retry one, and says which
    item is in the ledger since."""
    failed_run = failing_bulk_run(acme)
    sign_in_as("sam")
    page.goto(f"{live_server.url}/sync/health/runs/{failed_run.public_id}/")
    expect(page.locator("#count-failed")).to_have_text("2")
    expect(page.get_by_role("button", name="Retry failed items (2)")).to_be_enabled()

    # A clerk books TRV-201 to Office instead: its own push goes through.
    fixed = SyncRecord.objects.get(document__number="TRV-201").document
    document_services.document_update(
        document=fixed, actor=acme["clerk"], data={"category": acme["office"]}
    )
    push_pending(rounds=20)
    assert SyncRecord.objects.get(document=fixed).status == RecordStatus.COMPLETE

    page.reload()
    expect(page.locator("#run-status")).to_have_text("4000 Configuration error")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#count-resolved")).to_have_text("1")
    expect(page.locator("#item-table tbody tr.outcome-resolved")).to_contain_text("TRV-201")
    expect(page.locator("#item-table tbody tr.outcome-resolved")).to_contain_text("Fixed since")
    expect(page.locator("#run-errors")).to_contain_text("1 item ")
    screenshot("sync-health-run-one-fixed-since")

    # The other one is reconciled by hand: nothing is left failed, the sync reads as a success.
    services.sync_status_update(
        org=acme["org"],
        record_ids=[SyncRecord.objects.get(document__number="TRV-202").pk],
        to_status=RecordStatus.COMPLETE,
        actor=acme["admin"],
    )
    page.reload()
    expect(page.locator("#run-status")).to_have_text("2000 Success, data pushed")
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#count-resolved")).to_have_text("2")
    expect(page.get_by_role("button", name="Retry failed items")).to_be_disabled()
    expect(page.locator("#run-errors")).to_contain_text("No errors")
    screenshot("sync-health-run-all-fixed-since")
