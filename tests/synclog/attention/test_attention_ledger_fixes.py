"""Requires attention offers the fixes that work for entries changed or voided in the ledger
(issue 17, item 3): a "Voided in Xero" group offers no Retry but "Push as a new entry…" per
row and marking Complete in Sync History; a "Changed in Xero" group offers "Push ours again…"
(the bulk re-sync confirmation and its preview for exactly its documents, on its connection) and
"Accept Xero's for these N" (a confirmation, then each record Complete, audited). The drift is
made in the Xero emulator and found by the reconcile; another organisation's ids answer 404
and change nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord, SyncRun, SyncStatusChange
from synclog.selectors.preview import PreviewAction
from synclog.services.drift import LedgerDriftError
from tests.factories import DocumentFactory, MembershipFactory
from tests.synclog.attention.conftest import ROLES, approve_all, failed_record, html, text
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import reconcile
from tests.synclog.test_ledger_drift import ledger_date
from tests.tenancy import assert_not_found_for_other_tenant

CHANGED = "Changed in Xero since ledgersync pushed it"
VOIDED = "Voided in Xero"


@pytest.fixture
def drifted(org, clerk, connection, ledger, drain, office):
    """Three bills pushed to Xero; two had their due date edited there, one was voided, and the
    reconcile found them."""
    bills = [DocumentFactory(org=org, category=office, number=f"DR-{i}") for i in range(3)]
    approve_all(bills, clerk)
    drain()
    records = [bill_record(bill) for bill in bills]
    assert all(record.status == RecordStatus.COMPLETE for record in records)
    for record in records[:2]:
        ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    ledger.void_invoice(records[2].external_id)
    assert reconcile(connection).drifted == 3
    return bills[:2], bills[2]


def groups_by_message(page):
    return {group.message: group for group in page.context["groups"]}


def article(page, group) -> str:
    """The HTML of the group's article on the page (the one that names its message)."""
    parts = html(page).split('<article class="attention-group"')[1:]
    (part,) = [part for part in parts if group.message in part]
    return part


def group_args(group):
    return [group.connection.pk, group.code, group.digest]


def group_data(group):
    return {
        "group_connection": group.connection.pk,
        "group_code": group.code,
        "group_digest": group.digest,
    }


# --- the voided group ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPPORT])
def test_the_voided_group_offers_a_new_entry_per_row_and_no_retry(
    member_client, drifted, connection, role
):
    _, voided_bill = drifted
    page = member_client(role).get(reverse("synclog:attention"))
    group = groups_by_message(page)[VOIDED]
    assert (group.fix, group.ledger_gone, group.retryable) == ("new-entry", True, False)
    part = article(page, group)
    assert "Retry" not in part.replace("retrying cannot help", "")
    tab = reverse("synclog:document-integrations", args=[voided_bill.pk])
    assert f'href="{tab}?connection={connection.pk}&amp;open=push-new"' in part
    assert "Push as a new entry…" in part
    assert "mark its record Complete in" in part
    # The group's own page offers the same.
    own = html(member_client(role).get(reverse("synclog:attention-group", args=group_args(group))))
    assert "Push as a new entry…" in own and ">Retry" not in own


def test_the_tab_opens_the_push_new_dialog_from_the_link(admin_client, drifted, connection):
    _, voided_bill = drifted
    tab = reverse("synclog:document-integrations", args=[voided_bill.pk])
    opened = html(admin_client.get(f"{tab}?connection={connection.pk}&open=push-new"))
    assert '<dialog id="push-new-dialog" aria-labelledby="push-new-title" data-open-on-load>' in (
        opened
    )
    plain = html(admin_client.get(f"{tab}?connection={connection.pk}"))
    assert '<dialog id="push-new-dialog" aria-labelledby="push-new-title">' in plain


def test_other_groups_keep_their_retry_worded_for_one_or_many(
    member_client, org, connection, office
):
    one = DocumentFactory(org=org, category=office, status="approved")
    failed_record(one, connection)
    for _ in range(2):
        document = DocumentFactory(org=org, category=office, status="approved")
        failed_record(document, connection, message="Category Sundries has no Xero mapping.")
    content = text(member_client(Role.ADMIN).get(reverse("synclog:attention")))
    assert "Retry this one" in content and "Retry these 2" in content
    assert "Retry these 1" not in content


def test_a_retry_posted_for_the_voided_or_drifted_groups_starts_nothing(member_client, drifted):
    client = member_client(Role.SUPPORT)
    groups = groups_by_message(client.get(reverse("synclog:attention")))
    for message, says in ((VOIDED, "A retry cannot help"), (CHANGED, "Push ours again…")):
        retry = reverse("synclog:attention-retry", args=group_args(groups[message]))
        assert says in text(client.post(retry, follow=True))
    assert not SyncRun.objects.exists()
    assert SyncRecord.objects.filter(status=RecordStatus.FAILED).count() == 3


# --- the drift group: what each role is offered ------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_drift_group_offers_push_ours_again_and_accept_by_role(member_client, drifted, role):
    client = member_client(role)
    page = client.get(reverse("synclog:attention"))
    group = groups_by_message(page)[CHANGED]
    assert (group.fix, group.ledger_drifted, group.retryable, group.count) == (
        "drift",
        True,
        False,
        2,
    )
    own = html(client.get(reverse("synclog:attention-group", args=group_args(group))))
    for part in (article(page, group), own):
        assert ">Retry" not in part
        # Every role here may push again (Perm.RESYNC), through the bulk confirmation.
        assert f'action="{reverse("synclog:bulk-confirm")}"' in part
        assert "Push ours again…" in part
        accept = reverse("synclog:attention-accept-ledger", args=group_args(group))
        if role in (Role.ADMIN, Role.ACCOUNTING_SYNC):
            assert f'href="{accept}"' in part and "Accept Xero's for these 2…" in part
            assert part.count("Accept Xero's</button>") == 2  # one per row
        else:
            assert accept not in part and "Accept Xero's" not in part
            assert "ask an admin or an accounting-sync user to accept it" in part


# --- push ours again: the bulk confirmation of exactly the group -------------------------------


def test_push_ours_again_confirms_previews_then_pushes_exactly_the_group(
    member_client, drifted, connection, ledger, drain, org, office
):
    changed_bills, voided_bill = drifted
    # Another connection of the organisation: the group's push does not go there.
    Connection.objects.create(org=org, provider=Provider.XERO, name="Second Xero")
    client = member_client(Role.AP_CLERK)
    group = groups_by_message(client.get(reverse("synclog:attention")))[CHANGED]

    confirm = client.post(reverse("synclog:bulk-confirm"), group_data(group))
    assert confirm.status_code == 200
    summary = confirm.context["summary"]
    assert sorted(summary.syncable_ids) == sorted(bill.pk for bill in changed_bills)
    assert summary.connections == [connection]
    content = html(confirm)
    assert "Re-sync 2 documents?" in content and 'id="bulk-confirm-group"' in content
    assert f'name="group_digest" value="{group.digest}"' in content
    assert f'href="{reverse("synclog:attention")}"' in content  # Cancel goes back there

    preview = client.post(reverse("synclog:bulk-preview"), group_data(group))
    assert preview.status_code == 200
    (connection_preview,) = [p for p, _ in preview.context["previews"]]
    assert connection_preview.connection == connection
    assert {e.document.pk for e in connection_preview.entries} == {b.pk for b in changed_bills}
    for entry in connection_preview.entries:
        assert entry.action == PreviewAction.UPDATE
        assert [change.field for change in entry.changes] == ["due date"]
    # Nothing was pushed by the confirmation or the preview.
    assert not SyncRun.objects.exists()
    assert SyncRecord.objects.filter(status=RecordStatus.FAILED).count() == 3

    started = client.post(reverse("synclog:bulk-resync"), group_data(group))
    assert started.status_code == 302
    (run,) = SyncRun.objects.all()
    assert run.connection == connection
    drain()
    for bill in changed_bills:
        record = bill_record(bill)
        assert record.status == RecordStatus.COMPLETE
        assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(bill.due_date)
    assert bill_record(voided_bill).ledger_gone  # not in the group: left as it was


def test_an_emptied_group_confirms_nothing(member_client, drifted):
    client = member_client(Role.ADMIN)
    group = groups_by_message(client.get(reverse("synclog:attention")))[CHANGED]
    SyncRecord.objects.filter(last_error_message=CHANGED).update(status=RecordStatus.COMPLETE)
    confirm = client.post(reverse("synclog:bulk-confirm"), group_data(group))
    assert "Nothing is left in this group" in text(confirm)
    assert client.post(reverse("synclog:bulk-resync"), group_data(group)).status_code == 400
    assert not SyncRun.objects.exists()


# --- accept the ledger's for the group ---------------------------------------------------------


def test_accept_the_ledgers_for_the_group_is_confirmed_then_audited(member_client, drifted, org):
    changed_bills, voided_bill = drifted
    client = member_client(Role.ACCOUNTING_SYNC)
    group = groups_by_message(client.get(reverse("synclog:attention")))[CHANGED]
    url = reverse("synclog:attention-accept-ledger", args=group_args(group))

    confirmation = client.get(url)
    assert confirmation.status_code == 200
    assert "Accept Xero's for these 2" in text(confirmation)
    assert not SyncStatusChange.objects.exists()  # the confirmation changes nothing

    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("synclog:attention")
    actor = response.wsgi_request.user
    for bill in changed_bills:
        record = bill_record(bill)
        assert (record.status, record.last_error_message) == (RecordStatus.COMPLETE, "")
        (change,) = SyncStatusChange.objects.filter(record=record)
        assert (change.actor, change.from_status, change.to_status) == (
            actor,
            RecordStatus.FAILED,
            RecordStatus.COMPLETE,
        )
        assert change.note.startswith(f"Accepted Xero's: {CHANGED}.")
        assert "due date 2027-01-31 there" in change.note and record.external_number in change.note
    assert bill_record(voided_bill).ledger_gone  # another group: untouched
    page = client.get(reverse("synclog:attention"))
    assert CHANGED not in groups_by_message(page)


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.SUPPORT])
def test_accept_the_ledgers_needs_update_sync_status(member_client, drifted, role):
    client = member_client(role)
    group = groups_by_message(client.get(reverse("synclog:attention")))[CHANGED]
    url = reverse("synclog:attention-accept-ledger", args=group_args(group))
    # The page sends them to sign-in (as another user); the action is refused.
    assert client.get(url).url.startswith(reverse("login"))
    assert client.post(url).status_code == 403
    assert SyncRecord.objects.filter(last_error_message=CHANGED).count() == 2
    assert not SyncStatusChange.objects.exists()


def test_a_row_accepts_one_record_and_comes_back(member_client, drifted, connection):
    changed_bills, _ = drifted
    client = member_client(Role.ADMIN)
    record = bill_record(changed_bills[0])
    url = reverse(
        "synclog:document-accept-ledger", args=[record.document_id, connection.pk, record.pk]
    )
    response = client.post(url, {"back": "attention"})
    assert response.url == reverse("synclog:attention")
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    assert bill_record(changed_bills[1]).status == RecordStatus.FAILED


# --- tenants never meet ------------------------------------------------------------------------


@pytest.fixture
def their_drift(other_org):
    """Another organisation's drifted record, with the same cause as ours."""
    connection = Connection.objects.create(org=other_org, provider=Provider.XERO, name="Theirs")
    document = DocumentFactory(org=other_org, number="THEIRS-1", status="approved")
    return failed_record(document, connection, code=LedgerDriftError.status_code, message=CHANGED)


def test_another_organisations_group_is_a_404_and_changes_nothing(
    member_client, drifted, their_drift
):
    client = member_client(Role.ADMIN)
    ours = groups_by_message(client.get(reverse("synclog:attention")))[CHANGED]
    theirs = {
        "group_connection": their_drift.connection_id,
        "group_code": their_drift.last_error_code,
        "group_digest": their_drift.last_error_digest,
    }
    for name in ("synclog:bulk-confirm", "synclog:bulk-preview", "synclog:bulk-resync"):
        assert_not_found_for_other_tenant(client, "post", reverse(name), theirs)
    args = [their_drift.connection_id, their_drift.last_error_code, their_drift.last_error_digest]
    url = reverse("synclog:attention-accept-ledger", args=args)
    assert_not_found_for_other_tenant(client, "get", url)
    assert_not_found_for_other_tenant(client, "post", url)
    # Our connection with their group's key finds only our records.
    mixed = reverse("synclog:attention-accept-ledger", args=[ours.connection.pk, *args[1:]])
    client.post(mixed)
    their_drift.refresh_from_db()
    assert their_drift.status == RecordStatus.FAILED
    assert not SyncRun.objects.exists()
    assert not SyncStatusChange.objects.filter(record=their_drift).exists()


# --- the service --------------------------------------------------------------------------------


def test_the_group_accept_leaves_another_organisations_record(drifted, their_drift, org):
    admin = MembershipFactory(org=org, role=Role.ADMIN).user
    record = bill_record(drifted[0][0])
    accepted = services.attention_group_accept_ledger(
        org=org,
        connection_id=record.connection_id,
        code=record.last_error_code,
        digest=record.last_error_digest,
        actor=admin,
    )
    assert accepted == 2
    assert SyncStatusChange.objects.filter(actor=admin).count() == 2
    their_drift.refresh_from_db()
    assert their_drift.status == RecordStatus.FAILED
    # Their group asked for by our organisation: nothing of it is found.
    with pytest.raises(ValidationError):
        services.attention_group_accept_ledger(
            org=org,
            connection_id=their_drift.connection_id,
            code=their_drift.last_error_code,
            digest=their_drift.last_error_digest,
            actor=admin,
        )
    their_drift.refresh_from_db()
    assert their_drift.status == RecordStatus.FAILED


def test_the_group_accept_refuses_a_group_that_did_not_drift(org, connection, office):
    document = DocumentFactory(org=org, category=office, status="approved")
    record = failed_record(document, connection)
    record.refresh_from_db()
    with pytest.raises(ValidationError, match="changed in the ledger"):
        services.attention_group_accept_ledger(
            org=org,
            connection_id=connection.pk,
            code=record.last_error_code,
            digest=record.last_error_digest,
            actor=None,
        )
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert not SyncStatusChange.objects.exists()
