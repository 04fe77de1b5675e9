"""The quota meter and the ETA in the browser (issue 17, item 4): a clerk's bulk re-sync says on its
progress page when it will be done and stops saying so once it has ended; an admin reads on the
connection's Sync Health page the calls its pushes used and what still waits.

The ledger is the in-process Xero emulator; pushes run in the test process, as a worker would."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import DocumentStatus
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from synclog.ratelimit import get_rate_limiter
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(ledger, monkeypatch):
    """Acme on the emulated Xero at its real quota (60 calls a minute), 120 approved bills, no
    broker: the test pushes."""
    from synclog import tasks

    monkeypatch.setattr(tasks.sync_record, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(tasks.sync_batch, "apply_async", lambda *args, **kwargs: None)
    admin = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc", user__username="ada")
    org = admin.org
    MembershipFactory(org=org, role=Role.AP_CLERK, user__username="cleo")
    office = CategoryFactory(org=org, name="Office", code="429")
    vendor = ContactFactory(org=org, name="Office Supplies Ltd")
    connection = XeroBooks(ledger).connect_org(org)
    connection.settings = {**connection.settings, "rate_limits": {}}  # Xero's own quota
    connection.save(update_fields=["settings"])
    key = services.connection_quota_key(connection=connection)
    get_rate_limiter().reset(key)
    documents = [
        DocumentFactory(
            org=org,
            category=office,
            contact=vendor,
            status=DocumentStatus.APPROVED,
            number=f"B-{n}",
        )
        for n in range(120)
    ]
    yield {"org": org, "admin": admin.user, "connection": connection, "documents": documents}
    get_rate_limiter().reset(key)


def push_batches(count: int) -> None:
    """Push `count` batches of the bulk run's Pending records, as the workers would."""
    for _ in range(count):
        ids = list(
            SyncRecord.objects.filter(status=RecordStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:50]
        )
        if ids:
            services.sync_batch_push(record_ids=ids, worker="browser-test")


def test_a_bulk_resync_says_when_it_will_be_done_and_the_meter_what_it_used(
    page, live_server, screenshot, sign_in_as, acme
):
    org, admin = acme["org"], acme["admin"]
    [run] = services.bulk_resync(
        org=org, document_ids=[d.pk for d in acme["documents"]], actor=admin
    )
    push_batches(1)  # 50 of 120 done: one call of Xero's 60 a minute

    sign_in_as("cleo")
    page.goto(f"{live_server.url}/sync/bulk/{run.public_id}/")
    eta = page.locator("#eta-1")
    expect(eta).to_contain_text(re.compile(r"Done in (about|a moment)"))
    expect(eta).to_contain_text("70 entries left")
    screenshot("bulk-progress-eta")

    # The admin reads the connection's quota: one call used, 59 left, 70 bulk entries waiting.
    sign_in_as("ada")
    page.goto(f"{live_server.url}/sync/health/connections/{acme['connection'].pk}/config/")
    meter = page.locator("#quota-meter")
    expect(meter).to_contain_text(re.compile(r"1\s+of 60 calls used in the last minute"))
    expect(meter).to_contain_text(re.compile(r"59\s+left"))
    expect(page.locator("#quota-queue")).to_contain_text("70 bulk entries waiting")
    screenshot("connection-quota-meter")

    # The rest goes; the progress page, polling, ends without an ETA.
    push_batches(2)
    page.goto(f"{live_server.url}/sync/bulk/{run.public_id}/")
    expect(page.locator("#bulk-progress")).to_have_attribute("data-finished", "true")
    expect(page.locator(".eta")).to_have_count(0)
    page.goto(f"{live_server.url}/sync/health/connections/{acme['connection'].pk}/config/")
    expect(page.locator("#quota-queue")).to_contain_text("nothing waiting")
