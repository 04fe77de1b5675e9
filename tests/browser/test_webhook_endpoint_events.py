"""An admin rotates an endpoint's secret, then deletes the endpoint: the endpoint's page lists the
rotation with who and when, and the webhooks page the deletion."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import MembershipFactory
from webhooks import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def test_rotation_and_delete_are_shown_with_who_and_when(page, live_server, sign_in_as, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    admin = MembershipFactory(role=Role.ADMIN, user__username="ada").user
    endpoint, _secret = services.webhook_endpoint_create(
        org=admin.memberships.get().org,
        url="http://127.0.0.1:9/hook",
        events=["sync.completed"],
        actor=admin,
    )
    sign_in_as("ada")
    page.goto(f"{live_server.url}/webhooks/{endpoint.pk}/")
    expect(page.locator("#endpoint-events")).to_have_text("No secret rotation yet.")

    page.once("dialog", lambda prompt: prompt.accept())
    page.get_by_role("button", name=re.compile("Rotate")).click()
    page.goto(f"{live_server.url}/webhooks/{endpoint.pk}/")
    expect(page.locator("#endpoint-events li")).to_have_text(
        re.compile(rf"^Secret rotated by ada on {WHEN}$")
    )

    page.once("dialog", lambda prompt: prompt.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#deleted-endpoints li")).to_have_text(
        re.compile(rf"^http://127\.0\.0\.1:9/hook, deleted by ada on {WHEN}$")
    )
