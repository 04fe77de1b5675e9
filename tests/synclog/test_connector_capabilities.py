"""The engine takes each ledger's limits, batch size, call costs and booked rule from its
connector's declared capabilities, not from Xero's figures: a QuickBooks Online connection
(against the in-process QBO emulator, every request and answer held to Intuit's schemas) gets
Intuit's quota, batches of 30, and each batch request weighs 13 of its 500 calls a minute so that
no more than 40 batches go in a minute."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from documents import services as document_services
from integrations import services as integration_services
from integrations.connectors import connector_class_for
from integrations.connectors.qbo import QboConnector
from integrations.connectors.xero import XeroConnector
from integrations.models import Connection, MappingKind, Provider
from synclog import services
from synclog.models import Operation, RecordStatus, StatusCode, SyncRecord
from synclog.ratelimit import Limits, get_rate_limiter
from synclog.services import quota
from tests.factories import DocumentFactory, MembershipFactory
from tests.ledger_fixtures import credentials_from_token


@pytest.fixture
def qbo_connection(
    org, vendor, category, qbo_emulator, qbo_transport, monkeypatch, settings, enqueued
):
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: qbo_transport
    )
    token = qbo_emulator.connect()
    connection = Connection.objects.create(
        org=org,
        provider=Provider.QUICKBOOKS,
        name="QuickBooks",
        base_url=settings.QBO_EMULATOR_URL,
        tenant_id=token["realmId"],
    )
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(token)
    )
    [account] = [a for a in qbo_emulator.entities("Account") if a["Name"] == "Office Supplies"]
    [ledger_vendor] = [
        v for v in qbo_emulator.entities("Vendor") if v["DisplayName"] == vendor.name
    ]
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=category.pk,
        external_id=account["Id"],
        extra={"code": account["Id"], "name": account["Name"]},
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.CONTACT,
        local_id=vendor.pk,
        external_id=ledger_vendor["Id"],
    )
    get_rate_limiter().reset(f"connection:{connection.pk}")
    yield connection
    get_rate_limiter().reset(f"connection:{connection.pk}")


def approved_bills(org, clerk, vendor, category, count):
    bills = []
    for index in range(count):
        bill = DocumentFactory(
            org=org,
            contact=vendor,
            category=category,
            number=f"QB-{index:03d}",
            issue_date=datetime.date(2026, 11, 2),
            due_date=datetime.date(2026, 12, 2),
        )
        document_services.document_approve(document=bill, actor=clerk)
        bills.append(bill)
    return bills


def test_settings_name_each_ledgers_connector():
    assert connector_class_for("xero") is XeroConnector
    assert connector_class_for("quickbooks") is QboConnector
    with pytest.raises(LookupError):
        connector_class_for("sage")


def test_a_connection_gets_its_ledgers_quota(qbo_connection, org):
    assert quota._limits(qbo_connection) == Limits(
        per_window=500, window_seconds=60, max_concurrent=10, per_day=720_000, per_second=10
    )
    xero = Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")
    assert quota._limits(xero) == Limits(
        per_window=60, window_seconds=60, max_concurrent=5, per_day=5000
    )
    myob = Connection.objects.create(org=org, provider=Provider.MYOB, name="MYOB")
    assert quota._limits(myob).per_second == 8
    # A connection's own setting still overrides one figure, the ledger's others stay.
    qbo_connection.settings = {"rate_limits": {"per_window": 100}}
    assert quota._limits(qbo_connection).per_window == 100
    assert quota._limits(qbo_connection).max_concurrent == 10
    assert quota._limits(qbo_connection).per_second == 10
    qbo_connection.settings = {"rate_limits": {"per_second": 20}}
    assert quota._limits(qbo_connection).per_second == 20


def test_a_bulk_run_on_quickbooks_goes_in_batches_of_30(
    org, clerk, vendor, category, qbo_connection, monkeypatch, django_capture_on_commit_callbacks
):
    from synclog import tasks

    bills = approved_bills(org, clerk, vendor, category, 35)
    batches = []
    monkeypatch.setattr(
        tasks.sync_batch,
        "apply_async",
        lambda args, countdown=0, queue=None: batches.append(args[0]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.bulk_resync(org=org, document_ids=[b.pk for b in bills], actor=clerk)
    assert sorted(len(batch) for batch in batches) == [5, 30]


def test_thirty_new_bills_land_in_quickbooks_in_one_batch_request_weighing_13_calls(
    org, clerk, vendor, category, qbo_emulator, qbo_connection
):
    bills = approved_bills(org, clerk, vendor, category, 30)
    (run,) = services.bulk_resync(org=org, document_ids=[b.pk for b in bills], actor=clerk)
    record_ids = list(SyncRecord.objects.filter(run=run).values_list("pk", flat=True))
    writes_before = len(qbo_emulator.writes())
    calls_before = qbo_emulator.call_count()

    assert services.sync_batch_push(record_ids=record_ids, worker="w") == {}

    assert qbo_emulator.call_count() - calls_before == 1  # POST /batch
    assert len(qbo_emulator.writes()) - writes_before == 30
    assert sorted(b["DocNumber"] for b in qbo_emulator.entities("Bill")) == [
        b.number for b in bills
    ]
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 30, 0)
    assert set(SyncRecord.objects.filter(run=run).values_list("status", flat=True)) == {
        RecordStatus.COMPLETE
    }
    attempt = SyncRecord.objects.filter(run=run).first().attempts.get()
    assert attempt.operation == Operation.CREATE
    used, _ = get_rate_limiter().window_usage(
        f"connection:{qbo_connection.pk}", quota._limits(qbo_connection)
    )
    assert used == 13  # 500 calls / 40 batch requests a minute, rounded up


def test_sync_health_shows_the_limits_the_ledger_publishes(org, qbo_connection, client_for):
    support = MembershipFactory(org=org, role=Role.SUPPORT).user
    page = client_for(support).get(
        reverse("synclog:health-connection-config", args=[qbo_connection.pk])
    )
    assert page.status_code == 200
    assert (
        "500 calls per 60 s, 10 a second, 10 at once, 720,000 a day (QuickBooks Online&#x27;s "
        "published limits)" in page.content.decode()
    )
