"""A drifted entry on the document's Integrations tab (issue 17, item 3): what changed in the
ledger, "Push ours again…" (the Re-sync dialog) and "Accept Xero's" (an audited Update Sync
Status), offered to whom may use them; another organisation's ids are not found."""

import pytest
from django.urls import reverse

from accounts.models import Role
from synclog.models import RecordStatus, StatusCode, SyncStatusChange
from tests.factories import DocumentFactory, MembershipFactory
from tests.synclog.pages.conftest import make_record, text
from tests.tenancy import assert_not_found_for_other_tenant

CHANGED = "Changed in Xero since ledgersync pushed it"


def tab_url(document, connection):
    url = reverse("synclog:document-integrations", args=[document.pk])
    return f"{url}?connection={connection.pk}"


def accept_url(document, connection, record):
    return reverse("synclog:document-accept-ledger", args=[document.pk, connection.pk, record.pk])


@pytest.fixture
def drifted(org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    record = make_record(
        document,
        plain_connection,
        status=RecordStatus.FAILED,
        external_id="inv-1",
        last_error_code=StatusCode.DATA_PUSH,
        last_error_message=CHANGED,
        last_error_explanation="Someone changed the entry in Xero after ledgersync pushed it: "
        "due date 2027-01-31 there, 2026-11-30 here.",
    )
    return document, record


def test_the_tab_shows_the_drift_and_both_ways_out_to_whom_may(
    client, org, plain_connection, drifted
):
    document, record = drifted
    client.force_login(MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC).user)
    page = text(client.get(tab_url(document, plain_connection)))
    assert f'class="ledger-drift" id="record-{record.pk}-ledger-state">{CHANGED}' in page
    assert "due date 2027-01-31 there, 2026-11-30 here" in page
    assert "Push ours again…" in page
    assert "Accept Xero's" in page
    # A clerk pushes ours again but does not change sync statuses.
    client.force_login(MembershipFactory(org=org, role=Role.AP_CLERK).user)
    page = text(client.get(tab_url(document, plain_connection)))
    assert "Push ours again…" in page and "Accept Xero's" not in page


def test_accept_marks_it_complete_with_an_audit(client, org, plain_connection, drifted):
    document, record = drifted
    user = MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC).user
    client.force_login(user)
    response = client.post(accept_url(document, plain_connection, record))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    change = SyncStatusChange.objects.get(record=record)
    assert change.actor == user and "due date 2027-01-31 there" in change.note


def test_accept_of_a_record_that_did_not_drift_changes_nothing(client, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    record = make_record(
        document,
        plain_connection,
        status=RecordStatus.FAILED,
        last_error_code=StatusCode.DATA_PUSH,
        last_error_message="Account code '999' is not a valid code.",
    )
    client.force_login(MembershipFactory(org=org, role=Role.ADMIN).user)
    response = client.post(accept_url(document, plain_connection, record), follow=True)
    assert "Only an entry that changed in the ledger" in text(response)
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert not SyncStatusChange.objects.exists()


def test_another_organisations_ids_are_not_found(
    client, org, other_org, plain_connection, other_connection, drifted
):
    document, record = drifted
    outsider = MembershipFactory(org=other_org, role=Role.ADMIN).user
    client.force_login(outsider)
    assert_not_found_for_other_tenant(
        client, "post", accept_url(document, plain_connection, record)
    )
    # Their own document and connection, with Acme's record id: still not found.
    theirs = DocumentFactory(org=other_org, status="approved")
    assert_not_found_for_other_tenant(client, "post", accept_url(theirs, other_connection, record))
    # Acme's admin, with a record of another document of Acme's: not found either.
    other_document = DocumentFactory(org=org, status="approved")
    client.force_login(MembershipFactory(org=org, role=Role.ADMIN).user)
    assert_not_found_for_other_tenant(
        client, "post", accept_url(other_document, plain_connection, record)
    )
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert not SyncStatusChange.objects.exists()
