"""A pushed payment's reference in the ledger, on each ledger's emulator in process: a payment has
no number there, so its reference is the id the ledger gave it (Xero's PaymentID, QuickBooks'
BillPayment Id, MYOB's UID). It is stored by the push, one payment alone or a batch of them, and
shown wherever a history row's "External reference" is: a document's Integrations tab, the Bill
Payments tab of Sync History and its Excel export, and a run's push items on Sync Health."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from documents import services as document_services
from synclog import services
from synclog.export import HEADERS
from synclog.models import RecordStatus, SyncRecord
from tests.factories import DocumentFactory, MembershipFactory
from tests.ledger_fixtures import LEDGERS
from tests.synclog.conftest import run_records

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]


def ledger_payment_ids(ledger_books) -> set[str]:
    """The ids of the payments the ledger created, from its own write log."""
    ids = set()
    for write in ledger_books.writes():
        if write.get("kind") == "payment":  # Xero
            ids.add(write["PaymentID"])
        elif write.get("entity") == "BillPayment" and write["operation"] == "create":
            ids.add(write["Id"])
        elif write.get("resource") == "Purchase/SupplierPayment" and write["action"] == "create":
            ids.add(write["UID"])
    return ids


def paid_bill(org, clerk, office, vendor, number):
    document = DocumentFactory(org=org, category=office, contact=vendor, number=number)
    document_services.document_approve(document=document, actor=clerk)
    document_services.payment_record(
        document=document, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    return document


def payment_record(document) -> SyncRecord:
    return SyncRecord.objects.get(document=document, payment__isnull=False)


@pytest.fixture
def accountant(client, org):
    client.force_login(MembershipFactory(org=org, role=Role.ACCOUNTING_SYNC, can_export=True).user)
    return client


def flat(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def reference_cell(html: str, record: SyncRecord) -> str:
    """The "External reference" cell of the record's row on the Integrations tab."""
    row = html[html.index(f'data-record-id="{record.pk}"') :]
    return re.findall(r"<td>(.*?)</td>", row)[1]  # after the status cell's <td>


def test_a_paid_bill_pushed_alone_shows_its_payments_ledger_id(
    org, clerk, connection, office, vendor, ledger_books, drain, accountant
):
    document = paid_bill(org, clerk, office, vendor, "PAY-1")
    drain()
    record = payment_record(document)
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert record.external_id in ledger_payment_ids(ledger_books)
    assert record.external_reference == record.external_id

    url = reverse("synclog:document-integration-log", args=[document.pk, connection.pk])
    cell = reference_cell(flat(accountant.get(url)), record)
    assert cell == f"<code>{record.external_id}</code>"
    history = flat(
        accountant.get(reverse("synclog:history"), {"tab": "bill_payment", "status": "complete"})
    )
    row = history[history.index(f'data-record-id="{record.pk}"') :].split("</tr>")[0]
    assert f"<td>{record.external_id}</td>" in row


def test_payments_pushed_in_a_batch_show_their_ledger_ids(
    org, clerk, connection, office, vendor, ledger_books, accountant
):
    documents = [paid_bill(org, clerk, office, vendor, f"PAY-{n}") for n in range(3)]
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    payments = [payment_record(document) for document in documents]
    assert {p.status for p in payments} == {RecordStatus.COMPLETE}
    ids = [p.external_id for p in payments]
    assert set(ids) == ledger_payment_ids(ledger_books)

    items = flat(accountant.get(reverse("synclog:health-run", args=[run.public_id])))
    for payment in payments:
        row = items[items.index(f'data-record-id="{payment.pk}"') :].split("</tr>")[0]
        assert f"In the ledger as {payment.external_id}." in row

    export = accountant.get(
        reverse("synclog:history-export"), {"tab": "bill_payment", "status": "complete"}
    )
    content = b"".join(export.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    column = HEADERS.index("External reference")
    assert sorted(row[column] for row in rows[1:]) == sorted(ids)
