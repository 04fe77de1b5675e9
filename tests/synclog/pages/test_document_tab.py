"""Document › Integrations tab: who may see it, whose log it shows and what it says, and when it
polls (the Re-sync dialog on it: test_resync_dialog.py)."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.permissions import Perm, membership_has_perm
from documents import services as document_services
from integrations.models import ConnectionStatus
from synclog.models import (
    RecordStatus,
    SyncAttempt,
    SyncRecord,
    SyncRun,
)
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory, UserFactory
from tests.synclog.pages.conftest import (
    POLLING,
    ROLES,
    T0,
    log_url,
    make_attempts,
    make_record,
    resync_url,
    tab_url,
    text,
)
from tests.tenancy import assert_not_found_for_other_tenant

# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_tab_and_may_resync(client, org, member, plain_connection, role):
    document = DocumentFactory(org=org, status="approved")
    user = member(role)
    client.force_login(user)
    # The pages name these permissions; every role holds them today.
    assert membership_has_perm(user.memberships.get(), Perm.VIEW_DOCUMENTS)
    assert membership_has_perm(user.memberships.get(), Perm.RESYNC)

    assert client.get(tab_url(document)).status_code == 200
    assert client.get(log_url(document, plain_connection)).status_code == 200
    response = client.post(resync_url(document, plain_connection), {"entry": "bill"})
    assert response.status_code == 302
    assert response["Location"] == tab_url(document, plain_connection)
    assert SyncRun.objects.get().actor == user


def test_a_role_without_resync_sees_no_button_and_is_refused(
    client, org, member, plain_connection, monkeypatch
):
    from accounts import permissions

    # No role lacks RESYNC today; the gate must still hold if one does.
    monkeypatch.setitem(
        permissions.ROLE_PERMISSIONS,
        Role.SUPPORT,
        permissions.ROLE_PERMISSIONS[Role.SUPPORT] - {Perm.RESYNC},
    )
    document = DocumentFactory(org=org, status="approved")
    client.force_login(member(Role.SUPPORT))
    body = text(client.get(tab_url(document)))
    assert 'id="resync-open"' not in body and "<dialog" not in body
    assert client.post(resync_url(document, plain_connection), {"entry": "bill"}).status_code == 403
    assert not SyncRun.objects.exists()


def test_signed_out_is_sent_to_sign_in_and_refused_the_action(client, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    for url in (tab_url(document), log_url(document, plain_connection)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(resync_url(document, plain_connection), {"entry": "bill"}).status_code == 403
    assert not SyncRun.objects.exists()


def test_a_member_of_another_organisation_finds_nothing(client, org, other_org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    outsider = MembershipFactory(org=other_org, role=Role.ADMIN).user
    client.force_login(outsider)
    # Their organisation is Globex: Acme's document and connection do not exist for them.
    assert_not_found_for_other_tenant(client, "get", tab_url(document))
    assert_not_found_for_other_tenant(client, "post", resync_url(document, plain_connection))


def test_a_signed_in_user_without_membership_is_refused(client, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    client.force_login(UserFactory())
    response = client.get(tab_url(document))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(resync_url(document, plain_connection), {"entry": "bill"}).status_code == 403


# --- tenant isolation ------------------------------------------------------------------------


def test_another_organisations_document_is_not_found(
    client_for, clerk, plain_connection, other_document
):
    client = client_for(clerk)
    assert_not_found_for_other_tenant(client, "get", tab_url(other_document))
    assert_not_found_for_other_tenant(client, "get", log_url(other_document, plain_connection))
    assert_not_found_for_other_tenant(
        client, "post", resync_url(other_document, plain_connection), {"entry": "bill"}
    )
    assert not SyncRun.objects.exists()


def test_another_organisations_connection_is_not_found(
    client_for, clerk, org, plain_connection, other_connection
):
    document = DocumentFactory(org=org, status="approved")
    client = client_for(clerk)
    assert_not_found_for_other_tenant(client, "get", tab_url(document, other_connection))
    assert_not_found_for_other_tenant(client, "get", log_url(document, other_connection))
    assert_not_found_for_other_tenant(
        client, "post", resync_url(document, other_connection), {"entry": "bill"}
    )
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("value", ["abc", "999999", "-1", "1.5"])
def test_a_bad_connection_choice_is_not_found_never_a_500(
    client_for, clerk, org, plain_connection, value
):
    document = DocumentFactory(org=org, status="approved")
    response = client_for(clerk).get(tab_url(document) + f"?connection={value}")
    assert response.status_code == 404


# --- what the tab shows ----------------------------------------------------------------------


def test_the_document_page_offers_the_integrations_tab(client_for, clerk, org):
    document = DocumentFactory(org=org)
    body = text(client_for(clerk).get(reverse("documents:detail", args=[document.pk])))
    assert f'href="{tab_url(document)}"' in body
    assert 'aria-current="page">Details</a>' in body


def test_no_connection_empty_state_links_admins_to_integrations(client_for, org, member):
    document = DocumentFactory(org=org, status="approved")
    body = text(client_for(member(Role.ADMIN)).get(tab_url(document)))
    assert "No accounting system is connected</strong> — an admin can connect one" in body
    assert f'href="{reverse("integrations:list")}"' in body
    assert "Re-sync" not in body


def test_no_connection_empty_state_without_a_link_for_others(client_for, org, clerk):
    document = DocumentFactory(org=org, status="approved")
    body = text(client_for(clerk).get(tab_url(document)))
    assert "No accounting system is connected" in body
    assert f'href="{reverse("integrations:list")}"' not in body


def test_one_connection_is_the_one_option(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    body = text(client_for(clerk).get(tab_url(document)))
    options = re.findall(r"<option value=\"(\d+)\"", body)
    assert options == [str(plain_connection.pk)]
    assert "Nothing of this bill has been pushed to Xero yet. Use Re-sync to push it now." in body


def test_the_dropdown_chooses_whose_log_is_shown(client_for, clerk, org, plain_connection):
    from integrations.models import Connection

    second = Connection.objects.create(org=org, provider="xero", name="Xero Two")
    document = DocumentFactory(org=org, status="approved")
    make_attempts(make_record(document, plain_connection), 1, error_message="first ledger")
    make_attempts(make_record(document, second), 1, error_message="second ledger")
    client = client_for(clerk)
    body = text(client.get(tab_url(document)))
    assert re.findall(r"<option value=\"(\d+)\"", body) == [
        str(plain_connection.pk),
        str(second.pk),
    ]
    assert "first ledger" in body and "second ledger" not in body
    body = text(client.get(tab_url(document, second)))
    assert "second ledger" in body and "first ledger" not in body
    assert f'<option value="{second.pk}" selected>' in body


def test_a_failure_shows_every_column_with_explanation_and_hint(client_for, clerk, failed_bill):
    record = SyncRecord.objects.get(document=failed_bill)
    attempt = record.attempts.get()
    body = text(client_for(clerk).get(tab_url(failed_bill)))
    log = body[body.index('id="attempt-log"') :]
    row = log[log.index(f'data-attempt-id="{attempt.pk}"') :]
    # time, trigger (+ reason), who, entry, operation, outcome, code with its label, message
    assert attempt.started_at.strftime('%Y-%m-%d <small class="muted">%H:%M:%S UTC') in row
    assert 'Automatic<small class="muted">approved</small>' in row
    assert f"<td>{clerk.get_username()}</td>" in row
    assert "<td>Bill</td>" in row
    assert "<td>—</td>" in row  # nothing was created or updated
    assert 'badge-outcome-failed">Failed' in row
    assert '<span class="status-code">4000</span><small class="muted">Configuration error' in row
    assert "Category Travel has no Xero mapping" in row
    assert attempt.explanation and attempt.explanation in row
    assert attempt.hint and f"<strong>How to fix it:</strong> {attempt.hint}" in row
    assert "Request / response" in row
    # The record's current state, with its error explained.
    state = body[body.index('id="sync-records"') : body.index('id="attempt-log"')]
    assert 'badge-sync-failed">Failed' in state
    assert record.last_error_explanation in state and record.last_error_hint in state
    assert "The ledger said: “Category Travel has no Xero mapping" in state
    # Failed, not pending: the tab does not poll.
    assert POLLING not in body


def test_request_and_response_are_shown_redacted(client_for, clerk, synced_bill, connection):
    attempt = SyncAttempt.objects.get(record__document=synced_bill)
    assert [call["method"] for call in attempt.calls] == ["PUT"]  # a first push: no search
    body = client_for(clerk).get(tab_url(synced_bill)).content.decode()
    details = body[body.index('<details class="calls">') : body.index("</details>")]
    for call in attempt.calls:
        assert f"<code>{call['method']} {call['url']}" in details.replace("&amp;", "&")
        assert f"HTTP {call['http_status']}" in details
    assert "Request body" in details and "Response body" in details
    assert "INV-" in details  # the PUT's body names the bill
    # Credentials never appear: neither the tokens nor an Authorization header.
    credentials = connection.credentials
    for secret in (credentials["access_token"], credentials["refresh_token"]):
        assert secret not in body
    assert "Bearer" not in body and "Authorization" not in body
    row = body[body.index(f'data-attempt-id="{attempt.pk}"') :]
    assert "Created" in row and "Success" in row and "2000" in row


def test_record_state_shows_reference_and_total_vs_synced(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="approved", total="100.00")
    make_record(
        document,
        plain_connection,
        external_number="INV-REF-9",
        external_id="abc-123",
        synced_amount="90.00",
    )
    body = text(client_for(clerk).get(tab_url(document)))
    state = body[body.index('id="sync-records"') : body.index('id="attempt-log"')]
    assert "INV-REF-9" in state and "abc-123" in state
    assert 'class="num differs"' in state and "90.00" in state and "100.00 EUR" in state


def test_times_are_shown_in_the_users_time_zone(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    make_attempts(make_record(document, plain_connection), 1, start=T0)
    client = client_for(clerk)
    assert '2026-11-05 <small class="muted">12:00:00 UTC' in text(client.get(tab_url(document)))
    client.cookies["tz"] = "Pacific/Auckland"
    assert '2026-11-06 <small class="muted">01:00:00 NZDT' in text(client.get(tab_url(document)))


def test_payment_records_are_listed_with_their_bill(client_for, clerk, synced_bill, drain):
    document_services.payment_record(
        document=synced_bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    body = text(client_for(clerk).get(tab_url(synced_bill)))
    state = body[body.index('id="sync-records"') : body.index('id="attempt-log"')]
    assert state.index("<td>Bill<") < state.index("</span>Bill payment<")
    assert "40.00 paid 2026-11-05" in state
    assert "The bill entry and its 1 payment are in Xero." in body
    log = body[body.index('id="attempt-log"') :]
    assert log.index("Bill payment") < log.index("<td>Bill<")  # newest first


def test_a_failed_bill_shows_its_payments_waiting_for_it(client_for, clerk, org, connection, drain):
    travel = CategoryFactory(org=org, name="Travel", code="493")  # not mapped
    document = DocumentFactory(org=org, category=travel, number="TRIP-7")
    document_services.document_approve(document=document, actor=clerk)
    for paid_at in ("2026-11-05", "2026-11-06"):
        document_services.payment_record(
            document=document, actor=clerk, amount="10.00", paid_at=paid_at
        )
    drain()
    payments = SyncRecord.objects.filter(document=document, payment__isnull=False)
    assert all(record.waits_for_bill for record in payments)
    body = text(client_for(clerk).get(tab_url(document)))
    state = body[body.index('id="sync-records"') - 2000 : body.index('id="attempt-log"')]
    assert (
        "The bill entry failed; 2 of its payments wait for it and go right after it when it is "
        "retried." in state
    )
    assert state.count("Waiting for its bill</span>") == 2
    assert state.count("<strong>Waits for its bill entry</strong>, which failed") == 2
    # Nothing of it is on its way: the tab does not poll for it.
    assert "hx-trigger" not in body[body.index('id="integration-log"') - 200 :][:400]


def test_the_log_is_paginated(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    make_attempts(make_record(document, plain_connection), 30)
    client = client_for(clerk)
    first = text(client.get(tab_url(document)))
    assert first.count("data-attempt-id=") == 25
    assert "Page 1 of 2" in first
    second = text(client.get(tab_url(document) + f"?connection={plain_connection.pk}&page=2"))
    assert second.count("data-attempt-id=") == 5


def test_query_count_does_not_grow_with_attempts(client_for, clerk, org, plain_connection):
    client = client_for(clerk)

    def count_queries(attempts: int) -> int:
        document = DocumentFactory(org=org, status="paid")
        bill = make_record(document, plain_connection)
        make_attempts(bill, attempts, error_message="x", explanation="y", hint="z")
        for _ in range(3):
            payment = document.payments.create(
                org=org, amount="10.00", paid_at="2026-11-02", created_by=clerk
            )
            make_attempts(make_record(document, plain_connection, payment=payment), 2)
        with CaptureQueriesContext(db_connection) as queries:
            assert client.get(tab_url(document)).status_code == 200
        return len(queries)

    assert count_queries(2) == count_queries(20)


# --- polling ---------------------------------------------------------------------------------


def test_polls_only_while_an_entry_is_pending(client_for, clerk, org, plain_connection):
    document = DocumentFactory(org=org, status="approved")
    record = make_record(document, plain_connection, status=RecordStatus.PENDING)
    client = client_for(clerk)
    page = text(client.get(tab_url(document)))
    fragment = text(client.get(log_url(document, plain_connection)))
    poll = f'hx-get="{log_url(document, plain_connection)}?page=1" {POLLING}'
    assert poll in page and poll in fragment
    assert fragment.strip().startswith('<section id="integration-log"')
    assert "Waiting for a worker to push it." in fragment

    for status in (RecordStatus.COMPLETE, RecordStatus.FAILED):
        SyncRecord.objects.filter(pk=record.pk).update(status=status)
        assert POLLING not in text(client.get(tab_url(document)))
        assert POLLING not in text(client.get(log_url(document, plain_connection)))


def test_waiting_for_a_reconnect_is_said(client_for, clerk, org, plain_connection):
    plain_connection.status = ConnectionStatus.NEEDS_REAUTH
    plain_connection.save()
    document = DocumentFactory(org=org, status="approved")
    make_record(document, plain_connection, status=RecordStatus.PENDING)
    body = text(client_for(clerk).get(tab_url(document)))
    assert "Xero needs reconnecting" in body
    assert "Waiting for Xero to be reconnected." in body
