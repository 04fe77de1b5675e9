"""A push caused by a change made over the API names the API key as who did it, on the
document's Integrations tab, in the event log and in the API's own attempt listing; a user's
change keeps naming the user, and the engine's own work still reads as automatic."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from synclog.models import SyncAttempt, SyncRecord
from synclog.services import request_sync
from tests.factories import MembershipFactory
from tests.synclog.pages.conftest import tab_url, text
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db

KEY = "API key Partner ERP"  # the `api` fixture's key is named "Partner ERP"


def attempt_row(body: str, attempt: SyncAttempt) -> str:
    row = body[body.index(f'data-attempt-id="{attempt.pk}"') :]
    return row[: row.index("</tr>")]


def attempts_by_pk(api, document) -> dict[int, dict]:
    response = api.get(f"/api/v1/documents/{document.pk}/attempts")
    assert response.status_code == 200, response.content
    return {attempt["id"]: attempt for attempt in response.json()["results"]}


def test_a_bill_approved_with_a_key_is_pushed_in_the_keys_name(
    api, bill, connection, drain, client_for, clerk
):
    assert api.post(f"/api/v1/documents/{bill.pk}/approve").status_code == 200
    record = SyncRecord.objects.get(document=bill)
    assert (record.pending_actor, record.pending_actor_label) == (None, KEY)
    client = client_for(clerk)
    # Before the push: the tab says whose change waits.
    assert f'<small class="muted inline">by {KEY}</small>' in text(client.get(tab_url(bill)))

    drain()
    attempt = SyncAttempt.objects.get(record__document=bill)
    assert (attempt.outcome, attempt.actor, attempt.actor_label) == ("success", None, KEY)
    row = attempt_row(text(client.get(tab_url(bill))), attempt)
    assert 'Automatic<small class="muted">approved</small>' in row
    assert f"<td>{KEY}</td>" in row
    events_row = attempt_row(text(client.get(reverse("synclog:events"))), attempt)
    assert f'<small class="muted">{KEY}</small>' in events_row
    assert attempts_by_pk(api, bill)[attempt.pk]["actor"] == KEY


def test_a_keys_edit_and_payment_name_the_key_and_a_users_edit_names_the_user(
    api, bill, connection, drain, client_for, clerk
):
    document_services.document_approve(document=bill, actor=clerk)
    drain()
    due = api.patch(f"/api/v1/documents/{bill.pk}", {"due_date": "2026-12-15"}, format="json")
    assert due.status_code == 200, due.content
    drain()
    bill.refresh_from_db()
    document_services.document_update(
        document=bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 20)}
    )
    drain()
    # Paid in part, the entry is booked in Xero: the payment is the last change it takes.
    paid = api.post(
        f"/api/v1/documents/{bill.pk}/payments",
        {"amount": "40.00", "paid_at": "2026-11-20"},
        format="json",
    )
    assert paid.status_code == 201, paid.content
    drain()

    approved, edited, user_edit, payment = SyncAttempt.objects.filter(
        record__document=bill
    ).order_by("started_at", "id")
    assert [a.reason for a in (approved, edited, user_edit, payment)] == [
        "approved",
        "due date changed",
        "due date changed",
        "payment recorded",
    ]
    assert all(a.outcome == "success" for a in (approved, edited, user_edit, payment))
    expected = {
        approved.pk: clerk.get_username(),
        edited.pk: KEY,
        # The user's change after the key's: the record no longer carries the key's name.
        user_edit.pk: clerk.get_username(),
        payment.pk: KEY,
    }
    listed = attempts_by_pk(api, bill)
    assert {pk: listed[pk]["actor"] for pk in expected} == expected
    body = text(client_for(clerk).get(tab_url(bill)))
    for pk, who in expected.items():
        assert f"<td>{who}</td>" in attempt_row(body, SyncAttempt(pk=pk))


def test_the_engines_own_push_after_a_keys_change_reads_automatic(
    api, bill, connection, drain, client_for, clerk
):
    api.post(f"/api/v1/documents/{bill.pk}/approve")
    drain()
    bill.refresh_from_db()
    # A push the engine asks for itself (as a lock date that moved does): nobody's change.
    request_sync(document=bill, reason="checked again")
    drain()
    attempt = SyncAttempt.objects.filter(record__document=bill).latest("started_at", "id")
    assert (attempt.reason, attempt.actor_label) == ("checked again", "")
    assert attempts_by_pk(api, bill)[attempt.pk]["actor"] == ""
    row = attempt_row(text(client_for(clerk).get(tab_url(bill))), attempt)
    assert "<td>automatic</td>" in row


def test_another_organisation_sees_nothing_of_the_keys_pushes(
    api, other_api, other_org, bill, connection, drain, client_for
):
    api.post(f"/api/v1/documents/{bill.pk}/approve")
    drain()
    assert SyncAttempt.objects.get(record__document=bill).actor_label == KEY
    assert_not_found_for_other_tenant(other_api, "get", f"/api/v1/documents/{bill.pk}/attempts")
    outsider = client_for(MembershipFactory(org=other_org, role=Role.ADMIN).user)
    assert_not_found_for_other_tenant(outsider, "get", tab_url(bill))
    events = outsider.get(reverse("synclog:events"))
    assert events.status_code == 200
    assert "Partner ERP" not in text(events) and bill.number not in text(events)
