"""Date inputs are filled in ISO: a browser's <input type=date> cannot show the en-GB
"28/11/2026" the site's localisation would render, so an edit lost both dates and failed."""

import datetime

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import Document
from tests.factories import DocumentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_edit_shows_the_dates_and_saves_without_touching_them(page, live_server, sign_in_as):
    membership = MembershipFactory(role=Role.AP_CLERK)
    bill = DocumentFactory(
        org=membership.org,
        number="DATE-1",
        issue_date=datetime.date(2026, 11, 1),
        due_date=datetime.date(2026, 11, 28),
    )

    sign_in_as(membership.user.username)
    page.goto(f"{live_server.url}/documents/{bill.pk}/")
    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Issue date")).to_have_value("2026-11-01")
    expect(page.get_by_label("Due date")).to_have_value("2026-11-28")

    page.get_by_label("Number").fill("DATE-1A")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#document-status")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("number changed")
    bill = Document.objects.get(pk=bill.pk)
    assert bill.number == "DATE-1A"
    assert (bill.issue_date, bill.due_date) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 28),
    )


def test_record_payment_offers_today(page, live_server, sign_in_as):
    membership = MembershipFactory(role=Role.AP_CLERK)
    bill = DocumentFactory(org=membership.org, status="approved")

    sign_in_as(membership.user.username)
    page.goto(f"{live_server.url}/documents/{bill.pk}/")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_label("Paid on")).to_have_value(datetime.date.today().isoformat())
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_contain_text("Payment of 100.00 EUR recorded")
    assert bill.payments.get().paid_at == datetime.date.today()
