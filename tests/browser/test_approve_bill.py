import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import Document, DocumentStatus
from tests.factories import ContactFactory, DocumentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_signs_in_and_approves_a_bill(page, screenshot, sign_in_as):
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    vendor = ContactFactory(org=membership.org, name="Paper Co")
    bill = DocumentFactory(org=membership.org, contact=vendor, number="PAPER-77")
    DocumentFactory(org=membership.org, contact=vendor, status=DocumentStatus.PAID)

    sign_in_as(membership.user.username)
    expect(page).to_have_url(re.compile(r"/documents/$"))
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    row = page.locator(f"tr[data-document-id='{bill.pk}']")
    expect(row).to_contain_text("Awaiting approval")
    screenshot("documents-list")

    row.get_by_role("link", name="PAPER-77").click()
    page.get_by_role("button", name="Approve").click()

    expect(page.locator("#document-status")).to_have_text("Approved")
    expect(page.get_by_role("status")).to_contain_text("approved")
    screenshot("bill-approved")
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.APPROVED

    page.get_by_role("link", name="Documents").first.click()
    expect(page.locator(f"tr[data-document-id='{bill.pk}']")).to_contain_text("Approved")


def test_filtering_the_list_swaps_the_results(page, sign_in_as):
    membership = MembershipFactory(role=Role.AP_CLERK)
    vendor = ContactFactory(org=membership.org)
    DocumentFactory(org=membership.org, contact=vendor, number="KEEP-1")
    DocumentFactory(org=membership.org, contact=vendor, number="DROP-1", status="paid")

    sign_in_as(membership.user.username)
    page.locator("select[name='status']").select_option("paid")  # not Sync status
    expect(page.locator("#document-table")).not_to_contain_text("KEEP-1")
    expect(page.locator("#document-table")).to_contain_text("DROP-1")
    expect(page).to_have_url(re.compile(r"status=paid"))
    assert Document.objects.count() == 2


def test_clerk_creates_a_bill_and_sees_line_errors(page, screenshot, sign_in_as):
    membership = MembershipFactory(role=Role.AP_CLERK)
    ContactFactory(org=membership.org, name="Stationers")

    sign_in_as(membership.user.username)
    page.get_by_role("button", name="New document").or_(
        page.get_by_role("link", name="New document")
    ).click()
    page.get_by_label("Number").fill("ST-1")
    page.get_by_label("Contact").select_option(label="Stationers")
    page.get_by_label("Issue date").fill("2026-11-01")
    page.get_by_label("Due date").fill("2026-11-30")
    page.get_by_label("Total").fill("120.00")
    page.locator("input[name='form-0-description']").fill("Pens")
    page.locator("input[name='form-0-unit_amount']").fill("100.00")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert").first).to_contain_text("not the total 120.00")
    screenshot("create-line-error")
    assert Document.objects.count() == 0

    page.locator("input[name='form-0-unit_amount']").fill("100.00")
    page.get_by_role("button", name="Add line").click()
    page.locator("input[name='form-3-description']").fill("Ink")
    page.locator("input[name='form-3-unit_amount']").fill("20.00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#document-status")).to_have_text("Draft")
    document = Document.objects.get()
    assert document.number == "ST-1"
    assert [line.description for line in document.lines.all()] == ["Pens", "Ink"]
