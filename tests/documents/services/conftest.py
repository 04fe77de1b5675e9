"""Fixtures and helpers shared by the document service tests."""

import datetime
from decimal import Decimal

import pytest

from accounts.models import Role
from documents.models import ContactKind, DocumentStatus, Payment
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    MembershipFactory,
)


@pytest.fixture
def customer(org):
    return ContactFactory(org=org, name="Big Customer plc", kind=ContactKind.CUSTOMER)


@pytest.fixture
def department(org):
    return DepartmentFactory(org=org, name="Operations")


@pytest.fixture
def foreign_vendor(other_org):
    return ContactFactory(org=other_org, name="Globex Supplies")


@pytest.fixture
def foreign_category(other_org):
    return CategoryFactory(org=other_org, name="Globex Office", code="429")


@pytest.fixture
def foreign_department(other_org):
    return DepartmentFactory(org=other_org, name="Globex Operations")


@pytest.fixture
def approver(org):
    return MembershipFactory(org=org, role=Role.ADMIN).user


@pytest.fixture
def make_document(org, vendor, category):
    """A document written directly (no service) in `org`, by default a bill awaiting approval."""

    def make(**kwargs):
        kwargs.setdefault("org", org)
        kwargs.setdefault("contact", vendor)
        kwargs.setdefault("category", category)
        return DocumentFactory(**kwargs)

    return make


@pytest.fixture
def approved_bill(make_document):
    return make_document(number="APP-1", status=DocumentStatus.APPROVED)


@pytest.fixture
def partly_paid_bill(approved_bill, clerk):
    """An approved bill of 100.00 with 40.00 paid."""
    Payment.objects.create(
        org=approved_bill.org,
        document=approved_bill,
        amount=Decimal("40.00"),
        paid_at=datetime.date(2026, 11, 10),
        created_by=clerk,
    )
    approved_bill.amount_paid = Decimal("40.00")
    approved_bill.save(update_fields=["amount_paid"])
    return approved_bill


@pytest.fixture
def paid_bill(make_document, clerk):
    """A bill of 100.00, fully paid."""
    document = make_document(
        number="PAID-1", status=DocumentStatus.PAID, amount_paid=Decimal("100.00")
    )
    Payment.objects.create(
        org=document.org,
        document=document,
        amount=Decimal("100.00"),
        paid_at=datetime.date(2026, 11, 10),
        created_by=clerk,
    )
    return document
