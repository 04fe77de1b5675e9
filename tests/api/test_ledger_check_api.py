"""Issue 17, "Check the ledger now" over the API: POST /connections/{id}/ledger-check queues the
scheduled reconcile's own task (202), refuses a second while one is queued (409) and a
connection that needs re-authorisation (409 needs_reauth); GET reads what the last check found.
Another organisation's connection is not found; a signed-in user's session is not a key."""

import pytest

from accounts.models import Role
from integrations.models import ConnectionEvent, ConnectionEventKind, ConnectionStatus
from synclog import tasks
from synclog.models import LedgerReconcile, RecordStatus, SyncRecord
from tests.api.schema import generated_schema
from tests.factories import MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


def url(connection) -> str:
    return f"/api/v1/connections/{connection.pk}/ledger-check"


def test_a_partner_checks_the_ledger_now_and_reads_what_it_found(
    api, connection, ledger, approved, drain, reconcile_tasks, django_capture_on_commit_callbacks
):
    drain()
    record = SyncRecord.objects.get(document=approved[0], payment__isnull=True)
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-02-28"})

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(connection))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["queued_at"] is not None and body["running_since"] is None
    assert body["last_checked_at"] is None
    assert reconcile_tasks == [(connection.pk, None, "bulk")]
    event = ConnectionEvent.objects.get(kind=ConnectionEventKind.LEDGER_CHECK)
    assert event.actor is None and event.note == "by API key Partner ERP"

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(url(connection))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ledger_check_queued"
    assert len(reconcile_tasks) == 1

    tasks.ledger_reconcile(reconcile_tasks.pop()[0])  # the worker
    state = api.get(url(connection)).json()
    assert (state["entries_read"], state["drifted"]) == (1, 1)
    assert state["queued_at"] is None and state["last_checked_at"] is not None
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED and record.ledger_drifted


@pytest.fixture
def approved(org, clerk, category, vendor, connection):
    from documents import services as document_services
    from tests.factories import DocumentFactory

    bill = DocumentFactory(org=org, contact=vendor, category=category)
    document_services.document_approve(document=bill, actor=clerk)
    return [bill]


def test_a_connection_that_needs_reauthorisation_answers_409(api, connection, reconcile_tasks):
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.save(update_fields=["status"])
    response = api.post(url(connection))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "needs_reauth"
    assert "reconnect" in response.json()["error"]["message"]
    connection.status = ConnectionStatus.DISABLED
    connection.save(update_fields=["status"])
    assert api.post(url(connection)).status_code == 400
    assert reconcile_tasks == []


def test_another_organisations_connection_is_not_found(
    other_api, connection, reconcile_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_not_found_for_other_tenant(other_api, "post", url(connection))
    assert_not_found_for_other_tenant(other_api, "get", url(connection))
    assert reconcile_tasks == []
    assert not LedgerReconcile.objects.filter(requested_at__isnull=False).exists()


@pytest.mark.parametrize("role", [Role.AP_CLERK, Role.SUPPORT, Role.ADMIN])
def test_a_session_is_not_a_key(client, org, connection, reconcile_tasks, role):
    """The API acts only for an organisation's key (an admin creates it); a signed-in user of
    any role, an admin's included, is refused there (the page is their way)."""
    client.force_login(MembershipFactory(org=org, role=role).user)
    assert client.post(url(connection)).status_code in (401, 403)
    assert reconcile_tasks == []


def test_the_schema_documents_the_ledger_check():
    schema = generated_schema()
    operations = schema["paths"]["/api/v1/connections/{connection_id}/ledger-check"]
    assert set(operations) >= {"get", "post"}
    assert {"202", "404", "409", "503"} <= set(operations["post"]["responses"])
    assert operations["post"]["responses"]["202"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("LedgerCheck")


def test_with_the_broker_down_it_answers_503_and_a_retry_is_taken(
    api, connection, dead_broker, monkeypatch
):
    response = api.post(url(connection), HTTP_IDEMPOTENCY_KEY="check-1")
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "ledger_check_not_queued"
    assert "could not be queued" in error["message"] and error["fields"] == {}
    assert not LedgerReconcile.objects.filter(requested_at__isnull=False).exists()
    assert not ConnectionEvent.objects.filter(kind=ConnectionEventKind.LEDGER_CHECK).exists()

    # The broker is back: the same request (its key too) is taken, not refused as queued.
    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile,
        "apply_async",
        lambda args, countdown=None, queue=None: sent.append(args[0]),
    )
    again = api.post(url(connection), HTTP_IDEMPOTENCY_KEY="check-1")
    assert again.status_code == 202, again.content
    assert again.json()["queued_at"] is not None
    assert sent == [connection.pk]
