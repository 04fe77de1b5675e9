"""Issue 17, "Check the ledger now": an admin (or a partner system) asks for the connection's
reconcile at once instead of waiting for beat's next turn. It is the scheduled reconcile's own
task on the same queue: after interactive work, never twice at once, refused with a clear
message while one is queued or running and when the connection needs re-authorisation. The
connection page shows what the last check found and when the next one comes. The ledger is
the Xero emulator in process; the test plays the worker (it runs the tasks the request sent)."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from integrations.models import ConnectionEvent, ConnectionEventKind, ConnectionStatus
from synclog import services, tasks
from synclog.models import LedgerReconcile, RecordStatus
from synclog.models.reconcile import RECONCILE_LEASE
from synclog.selectors.reconcile import connection_reconcile_state
from tests.factories import ConnectionFactory, MembershipFactory
from tests.synclog.conftest import bill_record
from tests.tenancy import assert_not_found_for_other_tenant


@pytest.fixture
def pushed(approved_bill, drain):
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.COMPLETE
    return record


@pytest.fixture
def admin(org):
    return MembershipFactory(org=org, role=Role.ADMIN).user


def run_sent(reconcile_tasks):
    """Play the worker: run the reconcile tasks sent so far (a task may send itself again)."""
    while reconcile_tasks:
        connection_id, _, _ = reconcile_tasks.pop(0)
        tasks.ledger_reconcile(connection_id)


def request(connection, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.connection_reconcile_request(connection=connection, actor=actor)


def test_a_request_sends_the_scheduled_reconcile_at_once_and_it_finds_the_drift(
    pushed, connection, ledger, admin, reconcile_tasks, django_capture_on_commit_callbacks
):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-02-28"})
    request(connection, admin, django_capture_on_commit_callbacks)

    # Beat's task, on beat's queue (bulk: after interactive work and edits' pushes).
    assert reconcile_tasks == [(connection.pk, None, "bulk")]
    (event,) = ConnectionEvent.objects.filter(kind=ConnectionEventKind.LEDGER_CHECK)
    assert event.connection == connection and event.actor == admin
    state = connection_reconcile_state(connection=connection)
    assert state.queued and not state.running and state.last_checked_at is None

    run_sent(reconcile_tasks)
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.FAILED and pushed.ledger_drifted
    assert "due date 2027-02-28 there" in pushed.last_error_explanation
    state = connection_reconcile_state(connection=connection)
    assert not state.queued and not state.running
    assert (state.entries_read, state.drifted) == (1, 1)
    assert state.last_checked_at is not None

    # Once it has run, another check may be asked for.
    request(connection, admin, django_capture_on_commit_callbacks)
    assert len(reconcile_tasks) == 1


def test_never_twice_at_once_queued_or_running(
    pushed, connection, admin, reconcile_tasks, django_capture_on_commit_callbacks
):
    request(connection, admin, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as queued:
        request(connection, admin, django_capture_on_commit_callbacks)
    assert queued.value.code == "queued"
    assert "already queued" in queued.value.messages[0]
    assert len(reconcile_tasks) == 1
    assert ConnectionEvent.objects.filter(kind=ConnectionEventKind.LEDGER_CHECK).count() == 1

    # The worker has begun it (its claim): a request now says it is running.
    now = timezone.now()
    LedgerReconcile.objects.filter(connection=connection).update(started_at=now, finished_at=None)
    with pytest.raises(ValidationError) as running:
        request(connection, admin, django_capture_on_commit_callbacks)
    assert running.value.code == "running"
    assert "being checked already" in running.value.messages[0]
    assert connection_reconcile_state(connection=connection).running
    # A reconcile that died with its worker (past the lease) no longer blocks one.
    LedgerReconcile.objects.filter(connection=connection).update(
        started_at=now - RECONCILE_LEASE - datetime.timedelta(seconds=1),
        requested_at=now - RECONCILE_LEASE - datetime.timedelta(seconds=2),
    )
    request(connection, admin, django_capture_on_commit_callbacks)
    assert len(reconcile_tasks) == 2


def test_interactive_work_goes_first_and_the_request_stays_queued(
    pushed,
    approved_bill,
    connection,
    admin,
    clerk,
    reconcile_tasks,
    django_capture_on_commit_callbacks,
):
    # A clerk's re-sync is waiting: the reconcile comes back after it, on the bulk queue.
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    request(connection, admin, django_capture_on_commit_callbacks)
    connection_id, _, _ = reconcile_tasks.pop(0)
    tasks.ledger_reconcile(connection_id)
    assert reconcile_tasks == [(connection.pk, 30.0, "bulk")]
    assert connection_reconcile_state(connection=connection).queued
    with pytest.raises(ValidationError):
        request(connection, admin, django_capture_on_commit_callbacks)


@pytest.mark.parametrize(
    "status, code, words",
    [
        (ConnectionStatus.NEEDS_REAUTH, "needs_reauth", "reconnect"),
        (ConnectionStatus.DISABLED, "inactive", "disabled"),
        (ConnectionStatus.DISCONNECTED, "inactive", "disconnected"),
    ],
)
def test_a_connection_that_is_not_active_is_not_checked(
    connection, admin, reconcile_tasks, django_capture_on_commit_callbacks, status, code, words
):
    connection.status = status
    connection.save(update_fields=["status"])
    with pytest.raises(ValidationError) as refused:
        request(connection, admin, django_capture_on_commit_callbacks)
    assert refused.value.code == code
    assert words in refused.value.messages[0]
    assert reconcile_tasks == []
    assert not LedgerReconcile.objects.filter(requested_at__isnull=False).exists()


def test_beat_marks_its_turn_and_the_next_scheduled_check_follows(
    connection, other_org, reconcile_tasks, settings, admin, client
):
    settings.SYNC_RECONCILE_INTERVAL_SECONDS = 900
    ConnectionFactory(org=other_org, status=ConnectionStatus.DISABLED)
    assert connection_reconcile_state(connection=connection).next_check_at is None
    before = timezone.now()
    assert tasks.ledger_reconcile_all() == 1
    assert reconcile_tasks == [(connection.pk, None, "bulk")]
    mark = LedgerReconcile.objects.get(connection=connection)
    assert mark.scheduled_at >= before and mark.requested_at is None
    state = connection_reconcile_state(connection=connection)
    assert state.next_check_at == mark.scheduled_at + datetime.timedelta(minutes=15)
    assert not state.queued  # beat's own turn is not someone's request
    client.force_login(admin)
    page = client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    shown = timezone.localtime(state.next_check_at).strftime("%Y-%m-%d %H:%M")
    assert f'id="ledger-check-next">{shown}<' in page
    # Beat missed turns (it was down): the next one is still ahead, on its beat.
    LedgerReconcile.objects.filter(pk=mark.pk).update(
        scheduled_at=before - datetime.timedelta(minutes=40)
    )
    state = connection_reconcile_state(connection=connection)
    assert state.next_check_at == before + datetime.timedelta(minutes=5)


# --- the connection page --------------------------------------------------------------------------


def check_url(connection):
    return reverse("integrations:ledger-check", args=[connection.pk])


def test_the_page_shows_the_last_check_and_an_admin_checks_now_without_js(
    pushed, connection, ledger, admin, client, reconcile_tasks, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    detail = reverse("integrations:detail", args=[connection.pk])
    page = client.get(detail).content.decode()
    assert 'id="ledger-check"' in page and "Check the ledger now" in page
    assert 'id="ledger-check-last">Not checked yet<' in page
    assert "hx-trigger" not in page.split('id="ledger-check"')[1].split("</section>")[0]

    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-02-28"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(check_url(connection))
    assert response.status_code == 302 and response.url == f"{detail}#ledger-check"
    assert len(reconcile_tasks) == 1
    page = client.get(response.url).content.decode()
    assert "Checking Xero now" in page
    assert "A check is queued" in page
    assert f'hx-get="{check_url(connection)}" hx-trigger="every 2s"' in page

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(check_url(connection), follow=True)
    assert "already queued" in again.content.decode()
    assert len(reconcile_tasks) == 1

    run_sent(reconcile_tasks)
    page = client.get(detail).content.decode()
    assert 'id="ledger-check-read">1 changed in Xero<' in page
    assert "1 entry: see" in page
    assert "A check is queued" not in page
    assert "Ledger check requested" in page  # the connection's events: who asked


def events_fragment(html: str) -> str:
    """The Events section sent out of band with the answer (empty when there is none)."""
    found = re.search(
        r'<section id="connection-events-section"[^>]*hx-swap-oob="true"[^>]*>.*?</section>',
        html,
        re.S,
    )
    return found.group(0) if found else ""


def test_htmx_swaps_the_section_in_with_the_answer_and_the_events_out_of_band(
    pushed, connection, admin, client, reconcile_tasks, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(check_url(connection), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    section = response.content.decode()
    assert '<section id="ledger-check"' in section
    assert 'id="ledger-check-notice"' in section and "Checking Xero now" in section
    assert "<html" not in section
    # The event the request wrote comes with it: htmx swaps the page's Events table for this.
    events = events_fragment(section)
    assert '<table id="connection-events">' in events
    (row,) = re.findall(r'<tr data-event-kind="ledger_check">.*?</tr>', events, re.S)
    assert "Ledger check requested" in row and admin.get_username() in row
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(check_url(connection), HTTP_HX_REQUEST="true")
    assert again.status_code == 200  # htmx swaps only 2xx answers
    assert "message-warning" in again.content.decode()
    assert "already queued" in again.content.decode()
    # Refused: no second event, and the table says who asked for the queued one.
    assert events_fragment(again.content.decode()).count('data-event-kind="ledger_check"') == 1
    # The poll: the section alone while queued (nothing new to audit); a plain GET goes back
    # to the page.
    poll = client.get(check_url(connection), HTTP_HX_REQUEST="true").content.decode()
    assert "A check is queued" in poll and "<html" not in poll
    assert "connection-events" not in poll
    assert client.get(check_url(connection)).status_code == 302
    # The page itself has the table once, in place (not out of band).
    page = client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert page.count('id="connection-events-section"') == 1 and not events_fragment(page)


def test_before_the_first_check_the_page_says_none_has_run(
    pushed,
    connection,
    ledger,
    admin,
    client,
    reconcile_tasks,
    settings,
    django_capture_on_commit_callbacks,
):
    """Not "0 changed" and "none": nothing was read. A check that did not read the ledger
    through (the ledger refused it) has not checked either; the next complete one has."""
    settings.SYNC_RECONCILE_INTERVAL_SECONDS = 900
    client.force_login(admin)
    detail = reverse("integrations:detail", args=[connection.pk])

    def shown(page, field):
        return re.search(rf'id="ledger-check-{field}">(.*?)</dd>', page, re.S).group(1)

    page = client.get(detail).content.decode()
    assert shown(page, "last") == "Not checked yet"
    assert shown(page, "read") == "—" and shown(page, "drifted") == "—"
    assert shown(page, "next") == "within 15 minutes"
    assert "0 changed" not in page

    # Beat's turn is known: the next scheduled check shows beside "Not checked yet".
    assert tasks.ledger_reconcile_all() == 1
    ledger.set_faults(fail_next={"count": 10, "status": 500})
    run_sent(reconcile_tasks)
    state = connection_reconcile_state(connection=connection)
    assert state.last_error and not state.checked and state.last_checked_at is None
    page = client.get(detail).content.decode()
    assert shown(page, "last") == "Not checked yet"
    assert shown(page, "read") == "—" and shown(page, "drifted") == "—"
    assert shown(page, "next") == timezone.localtime(state.next_check_at).strftime("%Y-%m-%d %H:%M")
    assert "Last check failed" in page

    ledger.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(check_url(connection))
    run_sent(reconcile_tasks)
    state = connection_reconcile_state(connection=connection)
    # It read our own push of the bill (changed since the first push), which matches.
    assert state.checked and (state.entries_read, state.drifted) == (1, 0)
    page = client.get(detail).content.decode()
    assert shown(page, "last") == timezone.localtime(state.last_checked_at).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    # Now they are findings: read through, nothing drifted.
    assert shown(page, "read") == "1 changed in Xero" and shown(page, "drifted") == "none"
    assert "Last check failed" not in page


def test_a_connection_that_needs_reauthorisation_says_so(
    connection, admin, client, reconcile_tasks, django_capture_on_commit_callbacks
):
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.save(update_fields=["status"])
    client.force_login(admin)
    page = client.post(check_url(connection), follow=True).content.decode()
    assert "no longer accepts ledgersync&#x27;s access" in page
    assert "reconnect" in page
    assert reconcile_tasks == []


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT])
def test_only_admins_check_the_ledger(connection, org, client, reconcile_tasks, role):
    client.force_login(MembershipFactory(org=org, role=role).user)
    assert client.post(check_url(connection)).status_code == 403
    assert client.post(check_url(connection), HTTP_HX_REQUEST="true").status_code == 403
    assert reconcile_tasks == []
    assert not LedgerReconcile.objects.filter(requested_at__isnull=False).exists()


def test_another_organisations_connection_is_not_found(
    connection, other_org, client, reconcile_tasks, django_capture_on_commit_callbacks
):
    client.force_login(MembershipFactory(org=other_org, role=Role.ADMIN).user)
    with django_capture_on_commit_callbacks(execute=True):
        assert_not_found_for_other_tenant(client, "post", check_url(connection))
    assert_not_found_for_other_tenant(client, "get", check_url(connection))
    assert reconcile_tasks == []
    assert not ConnectionEvent.objects.filter(kind=ConnectionEventKind.LEDGER_CHECK).exists()
