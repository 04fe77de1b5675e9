"""A BillPayment voided in QuickBooks, over real HTTP to the emulator served on a loopback port,
every exchange checked against Intuit's XML Schemas: the void as Intuit documents it
(`?operation=update&include=void`; `?operation=void` is the Invoice's form), what a read
answers after it, and what the adapter's reconcile read and payment lookup make of it."""

import datetime
from decimal import Decimal

import httpx
import pytest

from integrations.connectors.qbo import QboConnector
from integrations.connectors.types import (
    ConnectorContext,
    EntryKind,
    EntryPayload,
    LinePayload,
    PaymentPayload,
)
from integrations.emulators.qbo import EmulatorConfig, running_emulator
from integrations.specs.qbo import ContractCheckingTransport
from tests.ledger_fixtures import credentials_from_token

OFFICE_SUPPLIES, CHECKING, SUPPLIER = "8", "2", "17"


@pytest.fixture
def served():
    with running_emulator(config=EmulatorConfig(calls_per_second=10_000)) as (url, emulator):
        yield url, emulator


@pytest.fixture
def checked():
    transport = ContractCheckingTransport(httpx.HTTPTransport())
    yield transport
    transport.assert_no_violations()


@pytest.fixture
def token(served):
    url, _ = served
    return httpx.post(f"{url}/_emulator/connect", json={}).json()


@pytest.fixture
def qbo(served, checked, token):
    url, _ = served
    connector = QboConnector(
        ConnectorContext(
            base_url=url,
            tenant_id=token["realmId"],
            credentials=credentials_from_token(token),
            save_credentials=lambda credentials: None,
            transport=checked,
        )
    )
    yield connector
    connector.close()


def a_bill() -> EntryPayload:
    return EntryPayload(
        kind=EntryKind.BILL,
        reference="doc-1",
        number="SUP-1",
        issue_date=datetime.date(2026, 11, 1),
        due_date=datetime.date(2026, 12, 1),
        currency="USD",
        total=Decimal("100.00"),
        lines=(LinePayload("Paper", Decimal("1"), Decimal("100"), OFFICE_SUPPLIES),),
        contact_id=SUPPLIER,
        contact_name="Office Supplies Ltd",
        url="http://localhost:8000/documents/1/?ref=doc-1",
    )


def test_a_bill_payment_voided_in_quickbooks_reads_zeroed_and_is_paid_again_as_new(
    served, token, qbo
):
    url, _ = served
    bill = qbo.create_entry(a_bill(), idempotency_key="bill")
    payment = PaymentPayload(
        "pay-1", bill.external_id, CHECKING, datetime.date(2026, 11, 20), Decimal("100")
    )
    paid = qbo.create_payment(payment, idempotency_key="pay-1:create")
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    api = f"{url}/v3/company/{token['realmId']}"
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    stored = httpx.get(f"{api}/billpayment/{paid.external_id}", headers=auth).json()

    # `operation=void` is the Invoice's: on a BillPayment QuickBooks refuses it, nothing voided.
    refused = httpx.post(
        f"{api}/billpayment",
        params={"operation": "void"},
        json={"Id": paid.external_id, "SyncToken": stored["BillPayment"]["SyncToken"]},
        headers=auth,
    )
    assert refused.status_code == 400
    assert refused.json()["Fault"]["Error"][0]["code"] == "500"
    assert qbo.get_entry(kind=EntryKind.BILL, external_id=bill.external_id).amount_due == 0

    # Somebody voids it in QuickBooks (the control API's stand-in for its screens).
    voided = httpx.post(f"{url}/_emulator/entities/BillPayment/{paid.external_id}/void")
    assert voided.status_code == 200, voided.text
    read = httpx.get(f"{api}/billpayment/{paid.external_id}", headers=auth)
    assert read.status_code == 200  # still there, unlike a deleted one
    after = read.json()["BillPayment"]
    assert after["TotalAmt"] == 0.0 and "Line" not in after  # zeroed, its lines cleared
    assert after["PrivateNote"].startswith("Voided")
    assert int(after["SyncToken"]) == int(stored["BillPayment"]["SyncToken"]) + 1
    reopened = qbo.get_entry(kind=EntryKind.BILL, external_id=bill.external_id)
    assert reopened.amount_due == Decimal("100.00") and not reopened.booked

    # The reconcile's read reports it among the payments, voided; the lookup a push makes
    # before it creates finds no live payment of ours to reuse.
    changes = qbo.changes_since(since=since, kinds=frozenset({EntryKind.BILL}), payments=True)
    [change] = changes.payments
    assert (change.state.external_id, change.state.status) == (paid.external_id, "VOIDED")
    assert change.state.amount == 0 and change.state.updated_at is not None
    assert '"Voided' in change.call.response_body
    assert qbo.find_payments(reference="pay-1", entry_id=bill.external_id) == []

    # Paid again: a new BillPayment, the voided one left as it is.
    again = qbo.create_payment(payment, idempotency_key=f"pay-1:create-after-{paid.external_id}")
    assert again.external_id != paid.external_id and again.amount == Decimal("100.00")
    assert qbo.get_entry(kind=EntryKind.BILL, external_id=bill.external_id).amount_due == 0
    assert (
        httpx.get(f"{api}/billpayment/{paid.external_id}", headers=auth).json()["BillPayment"][
            "TotalAmt"
        ]
        == 0.0
    )


def test_voiding_an_unknown_payment_behind_our_back_is_a_404(served):
    url, _ = served
    missing = httpx.post(f"{url}/_emulator/entities/BillPayment/999/void")
    assert missing.status_code == 404
    assert missing.json() == {"error": "unknown BillPayment '999'"}
