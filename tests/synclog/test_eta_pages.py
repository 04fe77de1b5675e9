"""The quota meter and the ETA where people look (issue 17, item 4): a connection's page shows the
calls used and left in the ledger's window and day and what waits, in serving order; a run in
progress says when it will be done on its page, on the bulk progress page and in the API."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.services import api_key_create
from integrations.models import Provider
from synclog import services
from synclog.models import RecordStatus, Trigger
from synclog.ratelimit import get_rate_limiter
from tests.api.conftest import make_client
from tests.factories import ConnectionFactory, SyncRecordFactory, SyncRunFactory
from tests.ledger_fixtures import quota_spend

pytestmark = pytest.mark.django_db


@pytest.fixture
def xero(org):
    connection = ConnectionFactory(org=org, provider=Provider.XERO, name="Xero")
    key = services.connection_quota_key(connection=connection)
    get_rate_limiter().reset(key)
    yield connection
    get_rate_limiter().reset(key)


@pytest.fixture
def partner(org):
    """The organisation's partner system, with an API key."""
    created = api_key_create(org=org, name="Partner ERP", actor=None)
    yield make_client(created.plaintext)
    get_rate_limiter().reset(f"api-key:{created.api_key.pk}")


def page_text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def queue_records(connection, **by_trigger) -> None:
    for trigger, count in by_trigger.items():
        for _ in range(count):
            SyncRecordFactory(connection=connection, pending_trigger=trigger)


def test_a_connections_page_shows_its_quota_now_and_what_waits(admin_client, xero):
    quota_spend(xero, 3)
    get_rate_limiter().pause(services.connection_quota_key(connection=xero), 20)
    queue_records(xero, manual=1, auto=2, bulk=3)
    SyncRecordFactory(connection=xero, status=RecordStatus.COMPLETE)  # not waiting
    page = admin_client.get(reverse("synclog:health-connection-config", args=[xero.pk]))
    text = page_text(page)
    assert "3 of 60 calls used in the last minute, 57 left" in text
    assert "today 3 of 5,000 (4,997 left)" in text
    assert re.search(r"Paused (1\d|20) s more: the ledger answered 429", text)
    assert (
        "1 re-sync by people, 2 automatic changes, 3 bulk entries waiting: served in that order"
        in text
    )
    assert "every organisation's calls together" not in text


def test_an_app_wide_quota_shows_every_organisations_calls_but_only_its_own_queue(
    admin_client, org, other_org
):
    ours = ConnectionFactory(org=org, provider=Provider.MYOB, name="MYOB")
    theirs = ConnectionFactory(org=other_org, provider=Provider.MYOB, name="MYOB")
    key = services.connection_quota_key(connection=ours)
    get_rate_limiter().reset(key)
    try:
        quota_spend(theirs, 4)  # another organisation's calls, on the same API key
        queue_records(theirs, bulk=5)
        queue_records(ours, bulk=2)
        page = admin_client.get(reverse("synclog:health-connection-config", args=[ours.pk]))
        text = page_text(page)
        assert "4 of 480 calls used in the last minute" in text
        assert "every organisation's calls together" in text
        assert "0 re-syncs by people, 0 automatic changes, 2 bulk entries waiting" in text
    finally:
        get_rate_limiter().reset(key)


def running_run(connection, *, total: int, done: int = 0, seconds_ago: float = 0):
    return SyncRunFactory(
        connection=connection,
        trigger=Trigger.BULK,
        total=total,
        pushed=done,
        started_at=timezone.now() - datetime.timedelta(seconds=seconds_ago),
    )


def test_a_run_in_progress_says_when_it_will_be_done_on_its_pages(admin_client, xero):
    # 6,000 bills on Xero: 120 calls of 50; 60 go now, the other 60 at one a second.
    run = running_run(xero, total=6000)
    page = admin_client.get(reverse("synclog:health-run", args=[run.public_id]))
    text = page_text(page)
    assert "Done in about 60 s" in text or "Done in about 59 s" in text
    assert "6,000 entries left" in text
    assert "from the ledger's quota; the speed is measured once some are done" in text
    progress = admin_client.get(reverse("synclog:bulk-progress", args=[run.public_id]))
    assert 'id="eta-1"' in progress.content.decode()
    assert "Done in about" in progress.content.decode()


def test_the_eta_uses_the_runs_own_speed_once_it_has_one(admin_client, partner, xero):
    # 3,000 done in 10 s: the 3,000 left fit the window (60 calls), so its speed decides.
    run = running_run(xero, total=6000, done=3000, seconds_ago=10)
    eta = partner.get(f"/api/v1/syncs/{run.public_id}").json()["eta"]
    assert eta["basis"] == "measured"
    assert eta["entries"] == 3000 and eta["ahead"] == 0
    assert 9 <= eta["seconds"] <= 11
    finishes_at = datetime.datetime.fromisoformat(eta["finishes_at"])
    assert abs((finishes_at - timezone.now()).total_seconds() - eta["seconds"]) < 2


def test_work_queued_ahead_of_a_bulk_run_counts_in_its_eta(partner, xero):
    queue_records(xero, manual=2, auto=3)
    run = running_run(xero, total=100)
    eta = partner.get(f"/api/v1/syncs/{run.public_id}").json()["eta"]
    assert (eta["entries"], eta["ahead"]) == (100, 5)


def test_a_run_that_needs_more_than_the_days_calls_says_so(admin_client, partner, xero):
    xero.settings = {"rate_limits": {"per_window": 60, "per_day": 10}}
    xero.save(update_fields=["settings"])
    run = running_run(xero, total=1000)  # 20 calls
    assert partner.get(f"/api/v1/syncs/{run.public_id}").json()["eta"]["seconds"] is None
    page = admin_client.get(reverse("synclog:health-run", args=[run.public_id]))
    assert "Waits for the ledger's daily call limit to free" in page.content.decode()


def test_a_finished_run_has_no_eta(admin_client, partner, xero):
    run = running_run(xero, total=10, done=10)
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    assert partner.get(f"/api/v1/syncs/{run.public_id}").json()["eta"] is None
    page = admin_client.get(reverse("synclog:health-run", args=[run.public_id]))
    assert "Done in about" not in page.content.decode()
