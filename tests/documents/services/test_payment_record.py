import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from documents.models import DocumentStatus, Payment
from documents.services import payment_record
from tests.documents.services.helpers import document_state, row_counts

pytestmark = pytest.mark.django_db

PAID_AT = datetime.date(2026, 11, 15)


def assert_refused(document, *fields: str, **kwargs) -> ValidationError:
    """payment_record raises exactly these field errors (none: a whole-document error)."""
    kwargs.setdefault("amount", "10.00")
    kwargs.setdefault("paid_at", PAID_AT)
    state = document_state(document)
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        payment_record(document=document, actor=None, **kwargs)
    if fields:
        assert set(excinfo.value.message_dict) == set(fields)
    else:
        assert not hasattr(excinfo.value, "error_dict")
    assert document_state(document) == state
    assert row_counts() == counts
    return excinfo.value


def test_payment_record_partial(approved_bill, clerk):
    payment = payment_record(
        document=approved_bill,
        actor=clerk,
        amount="30.00",
        paid_at="2026-11-15",
        reference="  TRX-1 ",
        bank_account=" NL00BANK0123456789 ",
    )

    payment.refresh_from_db()
    assert payment.org == approved_bill.org
    assert payment.document_id == approved_bill.id
    assert payment.amount == Decimal("30.00")
    assert payment.paid_at == PAID_AT
    assert payment.reference == "TRX-1"
    assert payment.bank_account == "NL00BANK0123456789"
    assert payment.created_by == clerk
    approved_bill.refresh_from_db()
    assert approved_bill.amount_paid == Decimal("30.00")
    assert approved_bill.amount_due == Decimal("70.00")
    assert approved_bill.status == DocumentStatus.APPROVED
    assert approved_bill.marked_paid is False


def test_payment_record_accumulates_until_paid(approved_bill, clerk):
    for amount, paid, status in [
        ("30.00", "30.00", DocumentStatus.APPROVED),
        ("30", "60.00", DocumentStatus.APPROVED),
        (Decimal("39.99"), "99.99", DocumentStatus.APPROVED),
        (Decimal("0.01"), "100.00", DocumentStatus.PAID),
    ]:
        payment_record(document=approved_bill, actor=clerk, amount=amount, paid_at=PAID_AT)
        approved_bill.refresh_from_db()
        assert (approved_bill.amount_paid, approved_bill.status) == (Decimal(paid), status)

    assert Payment.objects.filter(document=approved_bill).count() == 4
    assert approved_bill.marked_paid is False


@pytest.mark.parametrize("amount", ["100", "100.00", 100, Decimal("100"), " 100.0 "])
def test_payment_record_in_full(approved_bill, clerk, amount):
    payment_record(document=approved_bill, actor=clerk, amount=amount, paid_at=PAID_AT)

    approved_bill.refresh_from_db()
    assert approved_bill.amount_paid == Decimal("100.00")
    assert approved_bill.status == DocumentStatus.PAID


def test_payment_record_balance_of_partly_paid(partly_paid_bill, clerk):
    payment_record(document=partly_paid_bill, actor=clerk, amount="60.00", paid_at=PAID_AT)

    partly_paid_bill.refresh_from_db()
    assert partly_paid_bill.amount_paid == Decimal("100.00")
    assert partly_paid_bill.status == DocumentStatus.PAID


def test_payment_record_on_issue_date(approved_bill, clerk):
    payment = payment_record(
        document=approved_bill, actor=clerk, amount="1.00", paid_at=approved_bill.issue_date
    )

    assert payment.paid_at == datetime.date(2026, 11, 1)


@pytest.mark.parametrize("amount", ["100.01", "101", "1000000"])
def test_payment_record_refuses_more_than_due(approved_bill, amount):
    error = assert_refused(approved_bill, "amount", amount=amount)

    assert "more than the 100.00 EUR still due" in error.message_dict["amount"][0]


def test_payment_record_refuses_more_than_the_balance(partly_paid_bill):
    error = assert_refused(partly_paid_bill, "amount", amount="60.01")

    assert "more than the 60.00 EUR still due" in error.message_dict["amount"][0]


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", 0, "-10.00", "-0.01", "abc", "", None, "NaN", "Infinity", "10.001", "1e12"],
)
def test_payment_record_refuses_bad_amount(approved_bill, amount):
    assert_refused(approved_bill, "amount", amount=amount)


@pytest.mark.parametrize(
    "status",
    [
        DocumentStatus.DRAFT,
        DocumentStatus.AWAITING_APPROVAL,
        DocumentStatus.VOID,
        DocumentStatus.PAID,
    ],
)
def test_payment_record_refuses_document_not_approved(make_document, status):
    document = make_document(status=status)

    error = assert_refused(document)

    label = DocumentStatus(status).label.lower()
    assert error.messages == [
        f"Payments can be recorded on approved documents only; this one is {label}."
    ]


def test_payment_record_refuses_paid_document(paid_bill):
    assert_refused(paid_bill, amount="0.01")


def test_payment_record_refuses_date_before_issue_date(approved_bill):
    error = assert_refused(approved_bill, "paid_at", paid_at=datetime.date(2026, 10, 31))

    assert error.message_dict["paid_at"] == [
        "The payment date cannot be before the document's issue date."
    ]


@pytest.mark.parametrize("paid_at", ["2026-11-31", "15/11/2026", "", None, "today"])
def test_payment_record_refuses_bad_date(approved_bill, paid_at):
    assert_refused(approved_bill, "paid_at", paid_at=paid_at)


def test_payment_record_reports_amount_and_date_together(approved_bill):
    assert_refused(approved_bill, "amount", "paid_at", amount="500", paid_at="2026-01-01")


def test_payment_record_refuses_too_long_reference(approved_bill):
    assert_refused(approved_bill, "reference", reference="R" * 101)
