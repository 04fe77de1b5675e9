"""Real expenses: a card or bank expense is pushed as Xero's spend money (a SPEND bank
transaction) from the mapped card or bank account, with its tax rate, currency and rate and
each line's tracking, receipts attached; a reimbursable one is a bill to the employee."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from documents import services as document_services
from documents.models import ContactKind, DocumentKind
from synclog.models import RecordStatus, SyncRecord
from tests.factories import ContactFactory, DepartmentFactory
from tests.ledger_fixtures import map_to_tracking_option

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(org, connection):
    """A department mapped to the ledger's Department: Sales option."""
    department = DepartmentFactory(org=org, name="Sales team")
    map_to_tracking_option(connection, department, "Sales")
    return department


def expense(org, clerk, office, *, expense_type, contact, department=None, number="EXP-1"):
    document = document_services.document_create(
        org=org,
        actor=clerk,
        kind=DocumentKind.EXPENSE,
        expense_type=expense_type,
        number=number,
        contact=contact,
        issue_date=datetime.date(2026, 11, 5),
        due_date=datetime.date(2026, 11, 5),
        currency="EUR",
        exchange_rate="1.08",
        total="108.50",
        category=office,
        lines=[
            {
                "description": "Taxi",
                "quantity": "1",
                "unit_amount": "58.50",
                "category": office,
                "department": department,
                "tax_type": "INPUT",
            },
            {"description": "Lunch", "quantity": "2", "unit_amount": "25.00", "category": office},
        ],
    )
    document_services.document_submit(document=document, actor=clerk)
    document_services.document_approve(document=document, actor=clerk)
    return document


def test_a_card_expense_is_spend_money_from_the_card_account(
    org, clerk, office, vendor, sales, connection, drain, ledger
):
    connection.settings = {**connection.settings, "spend_account_codes": {"card": "091"}}
    connection.save()
    document = expense(org, clerk, office, expense_type="card", contact=vendor, department=sales)
    document_services.attachment_add(
        document=document,
        actor=clerk,
        upload=SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 taxi", content_type="application/pdf"),
    )
    drain()

    record = SyncRecord.objects.get(document=document)
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger.invoices() == []  # no bill, no payment
    (spent,) = ledger.bank_transactions()
    assert spent["BankTransactionID"] == record.external_id
    assert (spent["Type"], spent["Status"], spent["BankAccount"]["Code"]) == (
        "SPEND",
        "AUTHORISED",
        "091",
    )
    assert (spent["CurrencyCode"], spent["CurrencyRate"], spent["Total"]) == ("EUR", 1.08, 108.5)
    assert spent["Contact"]["Name"] == vendor.name and spent["Reference"] == "EXP-1"
    taxi, lunch = spent["LineItems"]
    assert (taxi["TaxType"], taxi["Tracking"][0]["Option"]) == ("INPUT", "Sales")
    assert lunch["Tracking"] == []  # the line's own department, none on the document
    assert spent["LineAmountTypes"] == "Exclusive"
    assert spent["HasAttachments"] is True

    # Unchanged: nothing to push; a change updates the same spend money.
    document_services.document_update(document=document, actor=clerk, data={"number": "EXP-1b"})
    drain()
    (spent,) = ledger.bank_transactions()
    assert spent["Reference"] == "EXP-1b"
    # It was paid when spent: no payment is recorded against it.
    with pytest.raises(ValidationError, match="paid when it was spent"):
        document_services.payment_record(
            document=document, actor=clerk, amount="108.50", paid_at="2026-11-05"
        )


def test_without_a_card_account_the_4000_names_it(org, clerk, office, vendor, connection, drain):
    document = expense(org, clerk, office, expense_type="bank", contact=vendor)
    drain()
    record = SyncRecord.objects.get(document=document)
    assert (record.status, record.last_error_code) == (RecordStatus.FAILED, 4000)
    attempt = record.attempts.first()
    assert attempt.error_detail == {
        "missing_mapping": {
            "kind": "bank_account",
            "local_id": None,
            "name": "Bank account for bank spends",
        }
    }


def test_a_reimbursable_expense_is_a_bill_to_the_employee(
    org, clerk, office, connection, drain, ledger
):
    employee = ContactFactory(org=org, name="Jo Employee", kind=ContactKind.VENDOR)
    document = expense(org, clerk, office, expense_type="reimbursable", contact=employee)
    drain()
    assert ledger.bank_transactions() == []
    (bill,) = ledger.invoices()
    assert (bill["Type"], bill["Status"], bill["Contact"]["Name"]) == (
        "ACCPAY",
        "AUTHORISED",
        "Jo Employee",
    )
    assert (bill["CurrencyRate"], bill["LineItems"][0]["TaxType"]) == (1.08, "INPUT")
    assert bill["AmountDue"] == float(Decimal("108.50"))
    assert SyncRecord.objects.get(document=document).status == RecordStatus.COMPLETE


def test_only_an_expense_has_a_type(org, clerk, office, vendor):
    with pytest.raises(ValidationError) as raised:
        document_services.document_create(
            org=org,
            actor=clerk,
            kind=DocumentKind.BILL,
            expense_type="card",
            number="B-1",
            contact=vendor,
            issue_date="2026-11-05",
            due_date="2026-11-30",
            currency="EUR",
            exchange_rate="-1",
            total="10.00",
            lines=[{"description": "x", "unit_amount": "10.00", "category": office}],
        )
    assert set(raised.value.message_dict) == {"expense_type", "exchange_rate"}


def test_a_batch_of_mixed_expenses_costs_one_call_per_kind(
    org, clerk, office, vendor, connection, ledger
):
    from synclog import services

    connection.settings = {**connection.settings, "spend_account_codes": {"card": "091"}}
    connection.save()
    employee = ContactFactory(org=org, name="Jo Employee", kind=ContactKind.VENDOR)
    documents = [
        expense(org, clerk, office, expense_type="card", contact=vendor, number=f"C-{n}")
        for n in range(3)
    ] + [
        expense(org, clerk, office, expense_type="reimbursable", contact=employee, number=f"R-{n}")
        for n in range(2)
    ]
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    calls_before = ledger.call_count()
    record_ids = list(SyncRecord.objects.filter(run=run).values_list("pk", flat=True))
    assert services.sync_batch_push(record_ids=record_ids, worker="w") == {}
    assert ledger.call_count() - calls_before == 2  # one PUT BankTransactions, one PUT Invoices
    assert sorted(t["Reference"] for t in ledger.bank_transactions()) == ["C-0", "C-1", "C-2"]
    assert sorted(i["InvoiceNumber"] for i in ledger.invoices()) == ["R-0", "R-1"]
    assert not SyncRecord.objects.filter(run=run).exclude(status=RecordStatus.COMPLETE).exists()
