"""The pages of wide tables use the window's width (main.container-wide), as the Documents list
does: at 1,000 px Pico's container held the Event log, a document's Integrations tab and Sync
Health to 700 px, and the Event log showed its first six columns of nine (seen walking the
demo)."""

import pytest

from accounts.models import Role
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from tests.factories import DocumentFactory, MembershipFactory, SyncRecordFactory, SyncRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pages_of_wide_tables_use_the_windows_width(page, live_server, sign_in_as):
    admin = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc").user
    org = admin.memberships.get().org
    connection = Connection.objects.create(
        org=org, provider=Provider.XERO, name="Xero", tenant_name="Acme (Xero)"
    )
    bill = DocumentFactory(org=org, number="WIDE-1", status=DocumentStatus.APPROVED)
    SyncRecordFactory(connection=connection, document=bill, missing_mapping=True)
    run = SyncRunFactory(connection=connection, missing_mapping=True)
    sign_in_as(admin.username)
    page.set_viewport_size({"width": 1000, "height": 900})
    for path in (
        "/sync/events/",
        f"/sync/documents/{bill.pk}/integrations/",
        "/sync/health/",
        f"/sync/health/runs/{run.public_id}/",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
        assert width > 900, (path, width)  # Pico's container: 700
