"""Sync Health pages: which roles see them and retry failed items, and another organisation's
runs and connections are never shown."""

import re

import pytest
from django.urls import reverse

from accounts import permissions
from synclog.models import (
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
)
from tests.synclog.health.conftest import (
    ACCOUNTING,
    ADMIN,
    CLERK,
    HEALTH_ROLES,
    SIGN_IN,
    SUPPORT,
    add_items,
    health_url,
    make_run,
    member,
    run_url,
    shown_run_ids,
)
from tests.tenancy import assert_not_found_for_other_tenant

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
