"""Update Sync Status is shown where it happened: the record's history row says who set its
status, when, from what, and why."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from synclog.models import StatusCode
from tests.browser.test_sync_history import history_row, make_connection, make_record
from tests.factories import DocumentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_row_says_who_marked_it_complete_and_when(page, live_server, sign_in_as):
    membership = MembershipFactory(
        role=Role.ACCOUNTING_SYNC, org__name="Acme Inc", user__username="ana"
    )
    xero = make_connection(membership.org)
    record = make_record(
        connection=xero,
        document=DocumentFactory(org=membership.org, number="TRV-1042"),
        last_error_code=StatusCode.CONFIGURATION,
        last_error_message="Account code '999' is not a valid code for this document.",
    )

    sign_in_as("ana")
    page.goto(f"{live_server.url}/sync/history/")
    row = history_row(page, record)
    expect(row.locator(".status-change")).to_have_count(0)
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Update Sync Status…").click()
    dialog = page.get_by_role("dialog", name="Update Sync Status")
    dialog.get_by_role("radio", name=re.compile(r"^Complete")).check()
    dialog.get_by_label("Note (optional)").fill("Entered by hand in Xero")
    dialog.get_by_role("button", name="Update status").click()
    expect(page.locator(".messages .message-success")).to_have_text("1 record marked Complete.")

    page.get_by_label("Sync status", exact=True).select_option("complete")
    note = history_row(page, record).locator(".status-change")
    expect(note).to_have_text(
        re.compile(
            r"^Set by ana on \d{4}-\d\d-\d\d \d\d:\d\d \(was Failed\): “Entered by hand in Xero”$"
        )
    )
