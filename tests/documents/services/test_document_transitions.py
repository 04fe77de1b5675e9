import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from documents.models import DocumentStatus, Payment
from documents.services import (
    document_approve,
    document_mark_paid,
    document_submit,
    document_void,
)
from tests.documents.services.helpers import document_state, row_counts

pytestmark = pytest.mark.django_db

ALL_STATUSES = list(DocumentStatus)


def assert_refused(service, document, **kwargs) -> ValidationError:
    """The transition raises an error about the whole document and writes nothing."""
    state = document_state(document)
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        service(document=document, **kwargs)
    assert document_state(document) == state
    assert row_counts() == counts
    return excinfo.value


# --- submit -----------------------------------------------------------------------------------


def test_document_submit_from_draft(make_document, clerk):
    document = make_document(status=DocumentStatus.DRAFT)

    result = document_submit(document=document, actor=clerk)

    assert result.status == DocumentStatus.AWAITING_APPROVAL
    document.refresh_from_db()
    assert document.status == DocumentStatus.AWAITING_APPROVAL
    assert document.approved_by is None


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != DocumentStatus.DRAFT])
def test_document_submit_refuses_other_statuses(make_document, clerk, status):
    document = make_document(status=status)

    error = assert_refused(document_submit, document, actor=clerk)

    label = DocumentStatus(status).label.lower()
    assert error.messages == [f"Only a draft can be submitted for approval; this one is {label}."]


# --- approve ----------------------------------------------------------------------------------


def test_document_approve_from_awaiting_approval(bill, approver):
    before = timezone.now()

    result = document_approve(document=bill, actor=approver)

    after = timezone.now()
    assert result.status == DocumentStatus.APPROVED
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.APPROVED
    assert bill.approved_by == approver
    assert before <= bill.approved_at <= after


@pytest.mark.parametrize(
    "status", [s for s in ALL_STATUSES if s != DocumentStatus.AWAITING_APPROVAL]
)
def test_document_approve_refuses_other_statuses(make_document, approver, status):
    document = make_document(status=status)

    error = assert_refused(document_approve, document, actor=approver)

    assert "Only a document awaiting approval can be approved" in error.messages[0]
    document.refresh_from_db()
    assert (document.approved_by, document.approved_at) == (None, None)


def test_document_submit_then_approve(make_document, clerk, approver):
    document = make_document(status=DocumentStatus.DRAFT)

    document_submit(document=document, actor=clerk)
    document_approve(document=document, actor=approver)

    document.refresh_from_db()
    assert document.status == DocumentStatus.APPROVED
    assert document.approved_by == approver


# --- void -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [DocumentStatus.DRAFT, DocumentStatus.AWAITING_APPROVAL, DocumentStatus.APPROVED]
)
def test_document_void(make_document, clerk, status):
    document = make_document(status=status)
    assert document.is_voidable

    result = document_void(document=document, actor=clerk)

    assert result.status == DocumentStatus.VOID
    document.refresh_from_db()
    assert document.status == DocumentStatus.VOID
    assert document.total == Decimal("100.00")  # kept, only the status changes


@pytest.mark.parametrize("status", [DocumentStatus.PAID, DocumentStatus.VOID])
def test_document_void_refuses_paid_and_void(make_document, clerk, status):
    document = make_document(status=status)
    assert not document.is_voidable

    error = assert_refused(document_void, document, actor=clerk)

    assert error.messages == [
        f"A {DocumentStatus(status).label.lower()} document cannot be voided."
    ]


def test_document_void_refuses_paid_bill_with_payments(paid_bill, clerk):
    assert_refused(document_void, paid_bill, actor=clerk)

    paid_bill.refresh_from_db()
    assert paid_bill.status == DocumentStatus.PAID


def test_document_void_refuses_partly_paid(partly_paid_bill, clerk):
    assert not partly_paid_bill.is_voidable

    error = assert_refused(document_void, partly_paid_bill, actor=clerk)

    assert "40.00 EUR has been paid" in error.messages[0]
    partly_paid_bill.refresh_from_db()
    assert partly_paid_bill.status == DocumentStatus.APPROVED


# --- mark paid --------------------------------------------------------------------------------


def test_document_mark_paid(make_document, clerk):
    # Issued before today, so that the default payment date (today) is allowed.
    today = timezone.localdate()
    approved_bill = make_document(
        status=DocumentStatus.APPROVED,
        issue_date=today - datetime.timedelta(days=10),
        due_date=today + datetime.timedelta(days=20),
    )
    payments = Payment.objects.count()

    payment = document_mark_paid(document=approved_bill, actor=clerk)

    payment.refresh_from_db()
    assert payment.document_id == approved_bill.id
    assert payment.org == approved_bill.org
    assert payment.amount == Decimal("100.00")
    assert payment.reference == "Marked paid"
    assert payment.bank_account == ""
    assert payment.paid_at == timezone.localdate()
    assert payment.created_by == clerk
    assert Payment.objects.count() == payments + 1
    approved_bill.refresh_from_db()
    assert approved_bill.status == DocumentStatus.PAID
    assert approved_bill.marked_paid is True
    assert approved_bill.amount_paid == Decimal("100.00")
    assert approved_bill.amount_due == Decimal("0.00")


def test_document_mark_paid_pays_the_balance_of_a_partly_paid_document(partly_paid_bill, clerk):
    payment = document_mark_paid(
        document=partly_paid_bill, actor=clerk, paid_at=datetime.date(2026, 11, 20)
    )

    assert payment.amount == Decimal("60.00")
    partly_paid_bill.refresh_from_db()
    assert partly_paid_bill.amount_paid == Decimal("100.00")
    assert partly_paid_bill.status == DocumentStatus.PAID
    assert partly_paid_bill.marked_paid is True
    assert sorted(
        Payment.objects.filter(document=partly_paid_bill).values_list("amount", flat=True)
    ) == [Decimal("40.00"), Decimal("60.00")]


@pytest.mark.parametrize(
    ("paid_at", "expected"),
    [
        (datetime.date(2026, 11, 15), datetime.date(2026, 11, 15)),
        ("2026-11-20", datetime.date(2026, 11, 20)),
        (datetime.datetime(2026, 11, 21, 16, 0), datetime.date(2026, 11, 21)),
    ],
)
def test_document_mark_paid_with_date_and_reference(approved_bill, clerk, paid_at, expected):
    payment = document_mark_paid(
        document=approved_bill, actor=clerk, paid_at=paid_at, reference="  Cheque 123 "
    )

    payment.refresh_from_db()
    assert (payment.paid_at, payment.reference) == (expected, "Cheque 123")


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != DocumentStatus.APPROVED])
def test_document_mark_paid_refuses_other_statuses(make_document, clerk, status):
    document = make_document(status=status)

    error = assert_refused(document_mark_paid, document, actor=clerk)

    assert "Only an approved document can be marked paid" in error.messages[0]
    document.refresh_from_db()
    assert document.marked_paid is False


def test_document_mark_paid_refuses_paid_bill_with_payments(paid_bill, clerk):
    assert_refused(document_mark_paid, paid_bill, actor=clerk)


@pytest.mark.parametrize("paid_at", ["yesterday", "2026-11-31", "15/11/2026"])
def test_document_mark_paid_refuses_bad_date(approved_bill, clerk, paid_at):
    error = assert_refused(document_mark_paid, approved_bill, actor=clerk, paid_at=paid_at)

    assert set(error.message_dict) == {"paid_at"}
    approved_bill.refresh_from_db()
    assert approved_bill.marked_paid is False


def test_document_mark_paid_refuses_date_before_issue_date(approved_bill, clerk):
    error = assert_refused(
        document_mark_paid, approved_bill, actor=clerk, paid_at=datetime.date(2026, 10, 31)
    )

    assert error.message_dict == {
        "paid_at": ["The payment date cannot be before the document's issue date."]
    }
    approved_bill.refresh_from_db()
    assert approved_bill.marked_paid is False


def test_document_mark_paid_today_refuses_document_issued_later(make_document, clerk):
    today = timezone.localdate()
    document = make_document(
        status=DocumentStatus.APPROVED,
        issue_date=today + datetime.timedelta(days=3),
        due_date=today + datetime.timedelta(days=30),
    )

    error = assert_refused(document_mark_paid, document, actor=clerk)

    assert set(error.message_dict) == {"paid_at"}
