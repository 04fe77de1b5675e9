"""The reconcile on each ledger that reads its changes: Xero (If-Modified-Since), QuickBooks
Online (change data capture) and MYOB (a complete listing)."""

import datetime
import html
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from integrations.models import Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord, Trigger
from synclog.selectors.preview import PreviewAction, document_resync_preview
from tests.factories import MembershipFactory
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import (
    RECONCILED,
    delete_in_ledger,
    delete_payment_in_ledger,
    reconcile,
)


@pytest.mark.parametrize("provider", RECONCILED)
def test_each_ledger_reports_an_edit_and_a_deletion_made_behind_our_back(
    provider, approved_bill, drain, connection, ledger_books, clerk
):
    drain()
    record = bill_record(approved_bill)
    ledger = connection.get_provider_display()
    # What we pushed is what the ledger holds: read, nothing flagged.
    first = reconcile(connection)
    assert (first.entries_read, first.drifted) == (1, 0)

    ledger_books.change_due_date(record.external_id, datetime.date(2027, 1, 31))
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.last_error_message == f"Changed in {ledger} since ledgersync pushed it"
    assert "due date 2027-01-31 there" in record.last_error_explanation
    attempt = record.attempts.first()
    assert attempt.trigger == Trigger.RECONCILE
    assert record.external_id in attempt.calls[0]["response_body"]

    # Push ours again: the ledger holds the document's due date again, and matches.
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    assert ledger_books.bill(record.external_id).due_date == approved_bill.due_date
    assert reconcile(connection).drifted == 0

    delete_in_ledger(ledger_books, record.external_id)
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.ledger_gone
    # Xero voids an approved bill (it deletes drafts only); QuickBooks deletes it.
    gone = "Voided" if ledger_books.provider == Provider.XERO else "Deleted"
    assert record.last_error_message == f"{gone} in {ledger}"


@pytest.mark.parametrize("provider", RECONCILED)
def test_a_re_sync_that_finds_the_entry_gone_words_it_as_the_ledger_did(
    provider, approved_bill, drain, connection, ledger_books, clerk
):
    """Before any reconcile: the re-sync's own read finds it gone (QuickBooks answers
    "Deleted", Xero "VOIDED"), and says so in the words the reconcile uses."""
    drain()
    record = bill_record(approved_bill)
    delete_in_ledger(ledger_books, record.external_id)
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    record.refresh_from_db()
    gone = "Voided" if ledger_books.provider == Provider.XERO else "Deleted"
    assert (record.status, record.last_error_message) == (
        RecordStatus.FAILED,
        f"{gone} in {connection.get_provider_display()}",
    )


@pytest.mark.parametrize("provider", [Provider.MYOB])
def test_myob_is_listed_whole_and_an_accepted_drift_is_not_found_again(
    provider, approved_bill, drain, connection, ledger_books, org
):
    """MYOB has no filter on the time of a change: each reconcile lists every bill, so what
    was judged (by RowVersion, or missing from the list) must not be flagged twice."""
    drain()
    record = bill_record(approved_bill)
    admin = MembershipFactory(org=org, role="admin").user

    ledger_books.change_due_date(record.external_id, datetime.date(2027, 1, 31))
    assert reconcile(connection).drifted == 1
    services.sync_record_accept_ledger(org=org, record_id=record.pk, actor=admin)
    assert reconcile(connection).drifted == 0  # the same RowVersion, accepted

    delete_in_ledger(ledger_books, record.external_id)
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert (record.last_error_message, record.ledger_gone) == ("Deleted in MYOB Business", True)
    # Deleted, not voided: nothing is kept there as history.
    assert "it is no longer in MYOB Business" in record.last_error_explanation
    assert "history" not in record.last_error_explanation
    assert "is not in MYOB Business's list" in record.attempts.first().calls[0]["response_body"]
    services.sync_record_accept_ledger(org=org, record_id=record.pk, actor=admin)
    assert reconcile(connection).drifted == 0  # missing still, and accepted


@pytest.mark.parametrize("provider", [Provider.QUICKBOOKS])
def test_a_bill_paid_in_quickbooks_outside_ledgersync_is_paid_elsewhere(
    provider, approved_bill, drain, connection, ledger_books, clerk
):
    """QuickBooks: the BillPayment is what changes; the bills it pays are read with it."""
    drain()
    record = bill_record(approved_bill)
    assert reconcile(connection).drifted == 0
    ledger_books.emulator.pay_bill(record.external_id)  # someone pays it in QuickBooks
    assert reconcile(connection).drifted == 1
    record.refresh_from_db()
    assert record.last_error_message == "Paid in QuickBooks Online outside ledgersync"


@pytest.mark.parametrize("provider", [Provider.QUICKBOOKS, Provider.MYOB])
def test_a_payment_deleted_in_the_ledger_is_drifted_and_pushed_again_as_new(
    provider, approved_bill, drain, connection, ledger_books, clerk, org
):
    """QuickBooks reports the deleted BillPayment through CDC; MYOB's payment is missing from
    its complete list of supplier payments."""
    drain()
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount=approved_bill.total, paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert payment.status == RecordStatus.COMPLETE
    assert reconcile(connection).drifted == 0  # our own payment: nothing drifted
    deleted_id = payment.external_id
    if provider == Provider.QUICKBOOKS:
        ledger_books.emulator.delete_entity("BillPayment", deleted_id)
    else:
        ledger_books.emulator.delete(deleted_id)
    assert reconcile(connection).drifted == 1
    payment.refresh_from_db()
    assert payment.last_error_message == f"Payment deleted in {connection.get_provider_display()}"
    assert payment.payment_deleted_in_ledger

    approved_bill.refresh_from_db()
    admin = MembershipFactory(org=org, role="admin").user
    services.resync(document=approved_bill, connection=connection, entry="payment", actor=admin)
    drain()
    payment.refresh_from_db()
    assert payment.status == RecordStatus.COMPLETE
    assert payment.external_id and payment.external_id != deleted_id
    assert reconcile(connection).drifted == 0  # the new one is there, and matches


@pytest.mark.parametrize("provider", [Provider.QUICKBOOKS])
def test_a_payment_voided_in_quickbooks_is_drifted_shown_and_paid_again_by_a_new_one(
    provider, approved_bill, drain, connection, ledger_books, clerk, client, org
):
    """QuickBooks keeps a voided BillPayment, zeroed and its lines cleared, "Voided" before its
    note: change data capture answers it as a changed payment, not a deleted one. It no longer
    pays the bill there, while the document still says paid: drifted, shown where a deleted
    payment is (the document's tab, Requires attention), and pushed again as a new payment,
    never a second live one."""
    emulator = ledger_books.emulator
    drain()
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount=approved_bill.total, paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert payment.status == RecordStatus.COMPLETE
    assert reconcile(connection).drifted == 0  # our own payment: nothing drifted
    voided_id = payment.external_id
    emulator.void_entity("BillPayment", voided_id)  # somebody voids it in QuickBooks

    assert reconcile(connection).drifted == 1
    payment.refresh_from_db()
    ledger = "QuickBooks Online"
    assert (payment.status, payment.last_error_message) == (
        RecordStatus.FAILED,
        f"Payment voided in {ledger}",
    )
    assert payment.ledger_drifted and payment.synced_amount == 0
    assert payment.payment_deleted_in_ledger  # the next push makes a new payment
    named = (
        f"The payment of {approved_bill.total} {approved_bill.currency} on 2026-11-05 that "
        f"ledgersync pushed (external reference {voided_id}) was voided in {ledger}: {ledger} "
        "now holds it at 0.00, marked Voided, and it no longer pays the entry there"
    )
    assert payment.last_error_explanation.startswith(named)
    assert "pushes it to QuickBooks Online as a new payment" in payment.last_error_hint
    finding = payment.attempts.first()
    assert finding.trigger == Trigger.RECONCILE
    assert '"PrivateNote": "Voided' in finding.calls[0]["response_body"]
    assert reconcile(connection).drifted == 0  # read again: found once

    client.force_login(MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC).user)
    tab = reverse("synclog:document-integrations", args=[approved_bill.pk])
    shown = re.sub(
        r"\s+", " ", html.unescape(client.get(f"{tab}?connection={connection.pk}").content.decode())
    )
    assert named in shown and f"Payment voided in {ledger}" in shown
    attention = client.get(reverse("synclog:attention"))
    [group] = [g for g in attention.context["groups"] if g.message.startswith("Payment voided")]
    assert group.fix == "drift" and group.count == 1

    # "Push ours again…" opens the Re-sync dialog on the payment entry, not the bill's (seen on
    # the demo walk: it opened on "Bill entry", whose preview said nothing to send), from the
    # tab and from Requires attention, and its preview says a new payment is pushed.
    admin = MembershipFactory(org=org, role="admin").user
    client.force_login(admin)
    push_ours = f"?connection={connection.pk}&amp;open=resync&amp;entry=payment"
    assert push_ours in client.get(f"{tab}?connection={connection.pk}").content.decode()
    attention_page = client.get(reverse("synclog:attention")).content.decode()
    assert "&amp;open=resync&amp;entry=payment" in attention_page
    # The page's words fit a drift too: nothing failed to reach the ledger here.
    assert "1 document is not in step with the ledger" in attention_page
    opened = client.get(f"{tab}?connection={connection.pk}&open=resync&entry=payment")
    assert opened.context["resync_form"]["entry"].value() == "payment"
    assert opened.context["open_dialog"] == "resync"
    approved_bill.refresh_from_db()
    [preview] = document_resync_preview(
        document=approved_bill, connection=connection, entry="payment"
    ).entries
    assert (preview.action, preview.note) == (
        PreviewAction.CREATE,
        f"Payment voided in {ledger}: it is pushed to {ledger} as a new payment.",
    )

    # Pushed again: a new BillPayment; the voided one stays voided, no second live payment.
    approved_bill.refresh_from_db()
    services.resync(document=approved_bill, connection=connection, entry="payment", actor=admin)
    drain()
    payment.refresh_from_db()
    assert payment.status == RecordStatus.COMPLETE
    assert payment.external_id and payment.external_id != voided_id
    assert not payment.payment_deleted_in_ledger

    def live_payments() -> list[str]:
        return [p["Id"] for p in emulator.entities("BillPayment") if p["TotalAmt"] > 0]

    assert live_payments() == [payment.external_id]
    assert emulator.entity("BillPayment", voided_id)["TotalAmt"] == 0.0
    services.resync(document=approved_bill, connection=connection, entry="payment", actor=admin)
    drain()
    assert live_payments() == [payment.external_id]
    assert reconcile(connection).drifted == 0  # the new one is there, and matches


@pytest.mark.parametrize("provider", RECONCILED)
def test_a_payment_deleted_in_the_ledger_is_named_by_its_amount_date_and_reference(
    provider, approved_bill, drain, connection, ledger_books, clerk, client, org
):
    """A ledger gives a payment no number: the finding names it by what a person can find it
    by, its amount, date and the id the ledger gave it (the record's External reference), on
    the document's tab too, and so does accepting the ledger's there. Xero reports it DELETED,
    QuickBooks through CDC, MYOB by its absence from its listing."""
    drain()
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert (payment.external_number, payment.external_reference) == ("", payment.external_id)
    assert reconcile(connection).drifted == 0
    delete_payment_in_ledger(ledger_books, payment.external_id)

    assert reconcile(connection).drifted == 1
    payment.refresh_from_db()
    ledger = connection.get_provider_display()
    assert payment.last_error_message == f"Payment deleted in {ledger}"
    named = (
        f"The payment of 40.00 {approved_bill.currency} on 2026-11-05 that ledgersync pushed "
        f"(external reference {payment.external_id}) was deleted in {ledger}: "
    )
    assert payment.last_error_explanation.startswith(named)
    assert payment.attempts.first().explanation == payment.last_error_explanation

    client.force_login(MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC).user)
    tab = reverse("synclog:document-integrations", args=[approved_bill.pk])
    tab = f"{tab}?connection={connection.pk}"
    assert named in re.sub(r"\s+", " ", html.unescape(client.get(tab).content.decode()))
    accept = reverse(
        "synclog:document-accept-ledger", args=[approved_bill.pk, connection.pk, payment.pk]
    )
    page = re.sub(r"\s+", " ", html.unescape(client.post(accept, follow=True).content.decode()))
    assert (
        f"{ledger}'s version is accepted: the payment of 40.00 {approved_bill.currency} on "
        "2026-11-05 is marked Complete" in page
    )


@pytest.mark.parametrize("provider", [Provider.QUICKBOOKS, Provider.MYOB])
def test_an_edit_pushed_after_the_entry_was_deleted_there_says_it_was_deleted(
    provider, approved_bill, drain, connection, ledger_books, clerk
):
    """Seen on the demo: QuickBooks answers the update of a deleted bill with its code 610,
    which the catalogue read as "an account … is inactive"; an edit's push now says what a
    re-sync says, and offers the new entry."""
    drain()
    record = bill_record(approved_bill)
    delete_in_ledger(ledger_books, record.external_id)
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    drain()
    record.refresh_from_db()
    ledger = connection.get_provider_display()
    assert (record.status, record.last_error_message) == (
        RecordStatus.FAILED,
        f"Deleted in {ledger}",
    )
    assert "inactive" not in record.last_error_explanation
    assert "Push as a new entry" in record.last_error_hint
