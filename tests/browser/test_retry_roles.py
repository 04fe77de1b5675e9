"""Who retries failed items, as each role sees it (README, Roles): support and admin retry a
Requires-attention group and a run's failed items; a clerk or accounting user is told who does,
and a clerk cannot reach the run's page at all."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from synclog.models import SyncRun, Trigger
from tests.factories import (
    DocumentFactory,
    MembershipFactory,
    OrganizationFactory,
    SyncRecordFactory,
    SyncRunFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def failed_run():
    """An active connection, a bulk run whose one item failed, its record still Failed."""
    org = OrganizationFactory(name="Acme Inc")
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")
    document = DocumentFactory(org=org, number="TRAVEL-1", status=DocumentStatus.APPROVED)
    SyncRecordFactory(connection=connection, document=document, missing_mapping=True)
    run = SyncRunFactory(connection=connection, missing_mapping=True)
    return org, run


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.ACCOUNTING_SYNC])
def test_clerk_and_accounting_are_told_who_retries(page, live_server, sign_in_as, failed_run, role):
    org, run = failed_run
    user = MembershipFactory(org=org, role=role).user
    sign_in_as(user.username)

    page.goto(live_server.url + reverse("synclog:attention"))
    expect(page.get_by_text("Category Travel has no Xero mapping.").first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Retry th(is one|ese)"))).to_have_count(0)
    expect(page.get_by_text("Support or an admin retries these together")).to_be_visible()

    page.goto(live_server.url + reverse("synclog:health-run", args=[run.public_id]))
    if role == Role.AP_CLERK:
        expect(page).to_have_url(re.compile(r"/sign-in/\?next="))
    else:
        expect(page.locator("#run-status")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("Retry failed items"))).to_have_count(0)


def test_support_retries_the_group(page, live_server, sign_in_as, failed_run, monkeypatch):
    from synclog.services import marking

    monkeypatch.setattr(marking, "sync_records_enqueue", lambda *args, **kwargs: None)
    org, run = failed_run
    user = MembershipFactory(org=org, role=Role.SUPPORT).user
    sign_in_as(user.username)

    page.goto(live_server.url + reverse("synclog:attention"))
    page.get_by_role("button", name="Retry this one").click()
    expect(page.locator(".messages")).to_contain_text("Retry of 1 document started.")
    assert SyncRun.objects.filter(trigger=Trigger.RETRY, actor=user).count() == 1
