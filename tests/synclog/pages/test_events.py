"""The event log: every attempt of the organisation, searchable and filterable."""

import datetime
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.permissions import Perm, membership_has_perm
from documents.models import Payment
from integrations.models import Connection
from synclog.models import AttemptOutcome, StatusCode, SyncAttempt, Trigger
from tests.factories import DocumentFactory, MembershipFactory, UserFactory
from tests.synclog.pages.conftest import ROLES, T0, make_attempts, make_record, text

EVENTS = reverse("synclog:events")


def shown_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-attempt-id="(\d+)"', response.content.decode())]


@pytest.fixture
def bill_with_payment(org, plain_connection, clerk):
    """Bill INV-1042 with a bill record (a failure, then a success) and a payment record."""
    document = DocumentFactory(org=org, status="paid", number="INV-1042")
    payment = Payment.objects.create(
        org=org, document=document, amount="100.00", paid_at="2026-11-06", created_by=clerk
    )
    bill = make_record(document, plain_connection)
    paid = make_record(document, plain_connection, payment=payment)
    failure = make_attempts(
        bill,
        1,
        start=T0,
        outcome=AttemptOutcome.FAILED,
        status_code=StatusCode.DATA_PUSH,
        error_message="Invoice not of valid status for modification",
        explanation="The entry is paid, voided or otherwise closed in the ledger.",
        hint="Reopen it in Xero, then re-sync.",
    )
    success = make_attempts(bill, 1, start=T0 + datetime.timedelta(hours=1), actor=clerk)
    payment_attempt = make_attempts(
        paid, 1, start=T0 + datetime.timedelta(hours=2), trigger=Trigger.MANUAL
    )
    return document, failure + success + payment_attempt


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_read_the_event_log(client, org, member, role):
    user = member(role)
    assert membership_has_perm(user.memberships.get(), Perm.VIEW_EVENT_LOG)
    client.force_login(user)
    response = client.get(EVENTS)
    assert response.status_code == 200
    assert "Find a document's attempts" in text(response)


@pytest.mark.parametrize("user", ["anonymous", "no membership"])
def test_others_are_sent_to_sign_in(client, db, user):
    if user == "no membership":
        client.force_login(UserFactory())
    response = client.get(EVENTS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_no_write_method_is_offered(client_for, clerk):
    # The page only reads: a POST is not an action anyone may take.
    assert client_for(clerk).post(EVENTS).status_code == 405


# --- what it lists ---------------------------------------------------------------------------


def test_lists_the_organisations_attempts_newest_first(
    client_for, clerk, bill_with_payment, other_org, other_connection, other_document
):
    _, attempts = bill_with_payment
    foreign = make_attempts(make_record(other_document, other_connection), 2)
    response = client_for(clerk).get(EVENTS)
    assert shown_ids(response) == [a.pk for a in reversed(attempts)]
    assert not set(shown_ids(response)) & {a.pk for a in foreign}
    assert "GLOBEX-1" not in text(response)


def test_a_row_shows_the_attempt_and_links_to_the_document_tab(
    client_for, clerk, bill_with_payment, plain_connection
):
    document, (failure, success, payment_attempt) = bill_with_payment
    body = text(client_for(clerk).get(EVENTS))
    link = reverse("synclog:document-integrations", args=[document.pk])
    row = body[body.index(f'data-attempt-id="{failure.pk}"') :]
    row = row[: row.index("</tr>")]
    assert f'href="{link}?connection={plain_connection.pk}">Bill INV-1042</a>' in row
    assert '2026-11-05 <small class="muted">12:00:00 UTC' in row
    assert 'Automatic<small class="muted">automatic</small>' in row
    assert '<span class="status-code">5130</span>' in row and "Data push error" in row
    assert "The entry is paid, voided or otherwise closed in the ledger." in row
    assert "<strong>How to fix it:</strong> Reopen it in Xero, then re-sync." in row
    assert "Invoice not of valid status for modification" in row
    success_row = body[body.index(f'data-attempt-id="{success.pk}"') :]
    assert f'<small class="muted">{clerk.get_username()}</small>' in success_row
    payment_row = body[body.index(f'data-attempt-id="{payment_attempt.pk}"') :]
    assert "Bill payment<small" in payment_row and "100.00 on 2026-11-06" in payment_row


def test_search_by_number_finds_the_bill_and_its_payment(
    client_for, clerk, org, bill_with_payment, plain_connection
):
    _, attempts = bill_with_payment
    other = make_attempts(
        make_record(
            DocumentFactory(org=org, status="approved", number="INV-2000"), plain_connection
        ),
        1,
    )
    client = client_for(clerk)
    for search in ("1042", "inv-1042", " #1042 "):
        response = client.get(EVENTS, {"q": search})
        assert shown_ids(response) == [a.pk for a in reversed(attempts)], search
    assert shown_ids(client.get(EVENTS, {"q": "2000"})) == [other[0].pk]
    body = text(client.get(EVENTS, {"q": "1042"}))
    assert 'id="matching-documents"' in body and "3 attempts" in body


def test_search_shows_a_document_that_never_reached_the_ledger(client_for, clerk, org):
    approved = DocumentFactory(org=org, status="approved", number="INV-1042")
    DocumentFactory(org=org, status="awaiting_approval", number="INV-10420")
    body = text(client_for(clerk).get(EVENTS, {"q": "1042"}))
    tab = reverse("synclog:document-integrations", args=[approved.pk])
    assert f'<a href="{tab}">Bill INV-1042</a>' in body
    assert "never pushed: open it and use Re-sync" in body
    assert "never pushed: it is pushed to the ledger once approved" in body
    assert "0 attempts" in body


def test_search_for_an_unknown_number_says_so(client_for, clerk, bill_with_payment):
    body = text(client_for(clerk).get(EVENTS, {"q": "7777"}))
    assert "No document of Acme has a number like “7777”" in body
    assert "No attempt matches these filters." in body


def test_another_organisations_document_number_finds_nothing(
    client_for, clerk, other_connection, other_document
):
    make_attempts(make_record(other_document, other_connection), 1)
    body = text(client_for(clerk).get(EVENTS, {"q": "GLOBEX"}))
    assert "GLOBEX-1" not in body.replace("“GLOBEX”", "")
    assert 'id="matching-documents"' not in body
    assert "0 attempts" in body


def test_filters_by_outcome_code_connection_and_date(
    client_for, clerk, org, bill_with_payment, plain_connection
):
    _, (failure, success, payment_attempt) = bill_with_payment
    second = Connection.objects.create(org=org, provider="xero", name="Xero Two")
    elsewhere = make_attempts(
        make_record(DocumentFactory(org=org, status="approved"), second),
        1,
        start=T0 + datetime.timedelta(days=3),
    )
    client = client_for(clerk)
    assert shown_ids(client.get(EVENTS, {"outcome": "failed"})) == [failure.pk]
    assert shown_ids(client.get(EVENTS, {"status_code": "5130"})) == [failure.pk]
    assert shown_ids(client.get(EVENTS, {"connection": second.pk})) == [elsewhere[0].pk]
    assert shown_ids(client.get(EVENTS, {"connection": plain_connection.pk})) == [
        payment_attempt.pk,
        success.pk,
        failure.pk,
    ]
    assert shown_ids(client.get(EVENTS, {"date_from": "2026-11-06"})) == [elsewhere[0].pk]
    assert shown_ids(client.get(EVENTS, {"date_to": "2026-11-05"})) == [
        payment_attempt.pk,
        success.pk,
        failure.pk,
    ]
    assert shown_ids(
        client.get(EVENTS, {"q": "1042", "outcome": "success", "date_from": "2026-11-05"})
    ) == [payment_attempt.pk, success.pk]


def test_the_date_filter_uses_the_users_day(client_for, clerk, org, plain_connection):
    # 12:00 UTC on 5 November is already 6 November in Auckland.
    attempt = make_attempts(
        make_record(DocumentFactory(org=org, status="approved"), plain_connection), 1, start=T0
    )[0]
    client = client_for(clerk)
    assert shown_ids(client.get(EVENTS, {"date_from": "2026-11-06"})) == []
    client.cookies["tz"] = "Pacific/Auckland"
    response = client.get(EVENTS, {"date_from": "2026-11-06"})
    assert shown_ids(response) == [attempt.pk]
    assert '2026-11-06 <small class="muted">01:00:00 NZDT' in text(response)


def test_another_organisations_connection_is_not_a_valid_filter(
    client_for, clerk, bill_with_payment, other_connection
):
    response = client_for(clerk).get(EVENTS, {"connection": other_connection.pk})
    assert response.status_code == 200
    assert shown_ids(response) == []
    assert "Select a valid choice" in text(response)
    assert f'value="{other_connection.pk}"' not in text(response)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not-a-date"},
        {"status_code": "abc"},
        {"status_code": "1234"},
        {"outcome": "exploded"},
        {"connection": "x"},
        {"page": "abc"},
        {"page": "999"},
        {"q": "x" * 500},
    ],
)
def test_bad_input_is_a_form_error_never_a_500(client_for, clerk, bill_with_payment, params):
    response = client_for(clerk).get(EVENTS, params)
    assert response.status_code == 200


def test_the_search_box_swaps_only_the_results(client_for, clerk, bill_with_payment):
    response = client_for(clerk).get(
        EVENTS, {"q": "1042"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-results"
    )
    body = text(response)
    assert "<html" not in body and 'id="event-table"' in body
    assert len(shown_ids(response)) == 3


def test_empty_states_say_what_to_do(client_for, clerk):
    client = client_for(clerk)
    assert "No sync attempt yet. Documents are pushed to the ledger once approved" in text(
        client.get(EVENTS)
    )
    assert "No attempt matches these filters." in text(client.get(EVENTS, {"outcome": "failed"}))


def test_fifty_a_page(client_for, clerk, org, plain_connection):
    record = make_record(DocumentFactory(org=org, status="approved"), plain_connection)
    attempts = make_attempts(record, 60)
    client = client_for(clerk)
    first = client.get(EVENTS)
    assert shown_ids(first) == [a.pk for a in reversed(attempts)][:50]
    assert "Page 1 of 2" in text(first) and "60 attempts" in text(first)
    second = client.get(EVENTS, {"page": 2})
    assert shown_ids(second) == [a.pk for a in reversed(attempts)][50:]


def test_query_count_does_not_grow_with_rows(client_for, clerk, org, plain_connection):
    client = client_for(clerk)
    payer = MembershipFactory(org=org, role=Role.ADMIN).user

    def count_queries(rows: int) -> int:
        SyncAttempt.objects.all().delete()
        for i in range(rows):
            document = DocumentFactory(org=org, status="paid")
            payment = Payment.objects.create(
                org=org, document=document, amount="1.00", paid_at="2026-11-02"
            )
            make_attempts(make_record(document, plain_connection), 1, actor=payer)
            make_attempts(make_record(document, plain_connection, payment=payment), 1)
            assert i < 60
        with CaptureQueriesContext(db_connection) as queries:
            response = client.get(EVENTS, {"q": "INV"})
        assert len(shown_ids(response)) == min(2 * rows, 50)
        return len(queries)

    assert count_queries(3) == count_queries(30)
