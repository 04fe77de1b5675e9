import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from documents.models import ContactKind, DocumentLine, DocumentStatus, Payment
from documents.services import DocumentUpdateResult, document_mark_paid, document_update
from tests.documents.services.helpers import document_state, line_values, row_counts
from tests.factories import CategoryFactory, ContactFactory, DepartmentFactory, DocumentFactory

pytestmark = pytest.mark.django_db

NOT_YOURS = "Choose a valid option: that one does not exist."
SAME_LINES = [{"description": "Services", "quantity": "1", "unit_amount": "100.00"}]


def line(unit_amount, description="Services", **fields) -> dict:
    return {"description": description, "unit_amount": unit_amount, **fields}


def assert_refused(document, data: dict, *fields: str, lines=None) -> ValidationError:
    """document_update raises exactly these field errors and writes nothing."""
    state = document_state(document)
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        document_update(document=document, actor=None, data=data, lines=lines)
    assert set(excinfo.value.message_dict) == set(fields)
    assert document_state(document) == state
    assert row_counts() == counts
    return excinfo.value


def assert_refused_outright(document, data: dict, lines=None) -> ValidationError:
    """document_update raises an error about the whole document and writes nothing."""
    state = document_state(document)
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        document_update(document=document, actor=None, data=data, lines=lines)
    assert not hasattr(excinfo.value, "error_dict")
    assert document_state(document) == state
    assert row_counts() == counts
    return excinfo.value


# --- changed fields ---------------------------------------------------------------------------


def test_document_update_due_date(bill, clerk):
    state = document_state(bill)

    result = document_update(document=bill, actor=clerk, data={"due_date": "2026-12-15"})

    assert isinstance(result, DocumentUpdateResult)
    assert result.changed_fields == frozenset({"due_date"})
    assert result.document.due_date == datetime.date(2026, 12, 15)
    new_state = document_state(bill)
    assert bill.due_date == datetime.date(2026, 12, 15)
    assert new_state["lines"] == state["lines"]
    unchanged = {"due_date", "updated_at"}
    assert {k: v for k, v in new_state["document"].items() if k not in unchanged} == {
        k: v for k, v in state["document"].items() if k not in unchanged
    }


def test_document_update_total_and_lines(bill, clerk):
    lines = [line("100.00"), line("20.50", "Delivery", quantity="2")]

    result = document_update(document=bill, actor=clerk, data={"total": "141"}, lines=lines)

    assert result.changed_fields == frozenset({"total", "lines"})
    bill.refresh_from_db()
    assert bill.total == Decimal("141.00")
    assert line_values(bill) == [
        (0, "Services", Decimal("1.0000"), Decimal("100.00"), Decimal("100.00"), None),
        (1, "Delivery", Decimal("2.0000"), Decimal("20.50"), Decimal("41.00"), None),
    ]


def test_document_update_lines_only(bill, clerk, org):
    office = CategoryFactory(org=org, name="Stationery", code="430")
    lines = [line("60.00", "Pens", category=office), line("40.00", "Paper")]

    result = document_update(document=bill, actor=clerk, data={}, lines=lines)

    assert result.changed_fields == frozenset({"lines"})
    assert [(row[1], row[4], row[5]) for row in line_values(bill)] == [
        ("Pens", Decimal("60.00"), office.id),
        ("Paper", Decimal("40.00"), None),
    ]
    assert DocumentLine.objects.filter(document=bill).count() == 2


def test_document_update_line_category_alone_is_a_change(bill, clerk, category):
    result = document_update(
        document=bill, actor=clerk, data={}, lines=[line("100.00", category=category)]
    )

    assert result.changed_fields == frozenset({"lines"})
    assert line_values(bill)[0][5] == category.id


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ({}, None),
        ({"due_date": datetime.date(2026, 11, 30)}, None),
        ({"due_date": "2026-11-30", "issue_date": "2026-11-01"}, None),
        ({"total": "100", "currency": "eur"}, None),
        ({"total": Decimal("100.00")}, SAME_LINES),
        ({}, [{"description": " Services ", "unit_amount": "100"}]),
        ({"description": "  "}, None),
    ],
)
def test_document_update_reports_nothing_changed(bill, clerk, data, lines):
    state = document_state(bill)

    result = document_update(document=bill, actor=clerk, data=data, lines=lines)

    assert result.changed_fields == frozenset()
    assert result.document.pk == bill.pk
    assert document_state(bill) == state  # not even updated_at moved


def test_document_update_reports_nothing_changed_for_same_number_and_refs(bill, clerk):
    state = document_state(bill)
    data = {
        "number": f"  {bill.number} ",
        "contact": bill.contact,
        "category": bill.category,
        "department": None,
    }

    result = document_update(document=bill, actor=clerk, data=data)

    assert result.changed_fields == frozenset()
    assert document_state(bill) == state


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("number", " INV-NEW ", "INV-NEW"),
        ("issue_date", "2026-10-15", datetime.date(2026, 10, 15)),
        ("currency", "usd", "USD"),
        ("description", "  Quarterly  ", "Quarterly"),
    ],
)
def test_document_update_one_field(bill, clerk, field, value, expected):
    result = document_update(document=bill, actor=clerk, data={field: value})

    assert result.changed_fields == frozenset({field})
    bill.refresh_from_db()
    assert getattr(bill, field) == expected


def test_document_update_contact(bill, clerk, org):
    other_vendor = ContactFactory(org=org)

    result = document_update(document=bill, actor=clerk, data={"contact": other_vendor})

    assert result.changed_fields == frozenset({"contact"})
    bill.refresh_from_db()
    assert bill.contact == other_vendor


def test_document_update_category_and_department(bill, clerk, org):
    department = DepartmentFactory(org=org)

    result = document_update(
        document=bill, actor=clerk, data={"category": None, "department": department}
    )

    assert result.changed_fields == frozenset({"category", "department"})
    bill.refresh_from_db()
    assert (bill.category, bill.department) == (None, department)


def test_document_update_keeps_status_and_payments(partly_paid_bill, clerk):
    result = document_update(
        document=partly_paid_bill,
        actor=clerk,
        data={"total": "120.00"},
        lines=[line("100.00"), line("20.00", "Extra")],
    )

    assert result.changed_fields == frozenset({"total", "lines"})
    partly_paid_bill.refresh_from_db()
    assert partly_paid_bill.status == DocumentStatus.APPROVED
    assert partly_paid_bill.amount_paid == Decimal("40.00")
    assert partly_paid_bill.amount_due == Decimal("80.00")
    assert Payment.objects.filter(document=partly_paid_bill).count() == 1


# --- paid documents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"due_date": "2026-12-31"}, {"due_date"}),
        ({"category": None}, {"category"}),
        ({"due_date": "2026-12-31", "description": "Settled"}, {"due_date", "description"}),
    ],
)
def test_document_update_paid_document_non_money_fields(paid_bill, clerk, data, expected):
    result = document_update(document=paid_bill, actor=clerk, data=data)

    assert result.changed_fields == frozenset(expected)
    paid_bill.refresh_from_db()
    assert paid_bill.status == DocumentStatus.PAID
    assert paid_bill.total == Decimal("100.00")


def test_document_update_paid_document_with_unchanged_amounts(paid_bill, clerk):
    result = document_update(
        document=paid_bill, actor=clerk, data={"total": "100", "due_date": "2026-12-31"}
    )

    assert result.changed_fields == frozenset({"due_date"})


@pytest.mark.parametrize(
    ("data", "lines", "fields"),
    [
        ({"total": "120.00"}, [line("120.00")], {"total"}),
        ({"total": "120.00"}, None, {"total", "lines"}),  # the lines no longer add up either
        ({}, [line("50.00", "A"), line("50.00", "B")], {"total"}),
        ({"currency": "USD"}, None, {"total", "currency"}),
    ],
)
def test_document_update_refuses_money_changes_on_paid_document(paid_bill, data, lines, fields):
    assert_refused(paid_bill, data, *fields, lines=lines)


# --- refusals ---------------------------------------------------------------------------------


def test_document_update_refuses_void_document(make_document):
    void = make_document(status=DocumentStatus.VOID)

    error = assert_refused_outright(void, {"due_date": "2026-12-31"})

    assert error.messages == ["A void document cannot be edited."]


@pytest.mark.parametrize(
    "data",
    [
        {"status": DocumentStatus.PAID},
        {"amount_paid": "100.00"},
        {"kind": "invoice"},
        {"marked_paid": True},
        {"approved_by": None},
        {"org": None},
        {"due_date": "2026-12-31", "status": DocumentStatus.PAID},
    ],
)
def test_document_update_refuses_unknown_fields(bill, data):
    unknown = set(data) - {"due_date"}

    error = assert_refused(bill, data, *unknown)

    assert error.message_dict == {name: ["This field cannot be edited."] for name in unknown}


def test_document_update_refuses_total_below_amount_paid(partly_paid_bill):
    error = assert_refused(partly_paid_bill, {"total": "30.00"}, "total", lines=[line("30.00")])

    assert "below the 40.00 already paid" in error.message_dict["total"][0]


def test_document_update_refuses_currency_change_after_payments(partly_paid_bill):
    assert_refused(partly_paid_bill, {"currency": "USD"}, "currency")


@pytest.mark.parametrize("total", ["120.00", "99.99"])
def test_document_update_refuses_total_the_existing_lines_do_not_sum_to(bill, total):
    error = assert_refused(bill, {"total": total}, "lines")

    assert f"not the total {total}" in error.message_dict["lines"][0]


def test_document_update_refuses_lines_not_summing_to_existing_total(bill):
    assert_refused(bill, {}, "lines", lines=[line("60.00"), line("30.00")])


def test_document_update_refuses_lines_not_summing_to_new_total(bill):
    assert_refused(bill, {"total": "150.00"}, "lines", lines=[line("140.00")])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"due_date": "2026-10-31"}, "due_date"),
        ({"issue_date": "2026-12-01"}, "due_date"),
        ({"issue_date": "2026-12-01", "due_date": "2026-11-15"}, "due_date"),
    ],
)
def test_document_update_refuses_due_date_before_issue_date(bill, data, field):
    assert_refused(bill, data, field)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"total": "abc"}, "total"),
        ({"total": "-100.00"}, "total"),
        ({"total": "0"}, "total"),
        ({"total": None}, "total"),
        ({"total": "NaN"}, "total"),
        ({"total": "Infinity"}, "total"),
        ({"total": "100.001"}, "total"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "eu"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"issue_date": "01/11/2026"}, "issue_date"),
        ({"due_date": None}, "due_date"),
        ({"number": "  "}, "number"),
        ({"number": "N" * 65}, "number"),
        ({"contact": None}, "contact"),
    ],
)
def test_document_update_refuses_bad_values(bill, data, field):
    assert_refused(bill, data, field)


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([line("100.00", description="")], "lines.0.description"),
        ([line("abc")], "lines.0.unit_amount"),
        ([line("-100.00")], "lines.0.unit_amount"),
        ([line("50.00"), line("25.00", quantity="0")], "lines.1.quantity"),
        ([line("100.00", quantity="two")], "lines.0.quantity"),
    ],
)
def test_document_update_refuses_bad_lines(bill, lines, field):
    assert_refused(bill, {}, field, lines=lines)


def test_document_update_reports_all_errors_at_once(bill):
    assert_refused(
        bill, {"total": "x", "currency": "XYZ", "contact": None}, "total", "currency", "contact"
    )


def test_document_update_refuses_contact_of_wrong_kind(bill, org):
    customer = ContactFactory(org=org, kind=ContactKind.CUSTOMER)

    assert_refused(bill, {"contact": customer}, "contact")


def test_document_update_refuses_contact_of_another_org(bill, foreign_vendor):
    error = assert_refused(bill, {"contact": foreign_vendor}, "contact")

    assert error.message_dict["contact"] == [NOT_YOURS]


def test_document_update_refuses_category_of_another_org(bill, foreign_category):
    assert_refused(bill, {"category": foreign_category}, "category")


def test_document_update_refuses_department_of_another_org(bill, foreign_department):
    assert_refused(bill, {"department": foreign_department}, "department")


def test_document_update_refuses_line_category_of_another_org(bill, foreign_category):
    assert_refused(bill, {}, "lines.0.category", lines=[line("100.00", category=foreign_category)])


def test_document_update_refuses_number_taken_by_same_contact(bill, org, vendor):
    DocumentFactory(org=org, contact=vendor, number="TAKEN-1")

    error = assert_refused(bill, {"number": "TAKEN-1"}, "number")

    assert "already has a bill numbered TAKEN-1" in error.message_dict["number"][0]


def test_document_update_refuses_contact_that_has_the_number(bill, org):
    other_vendor = ContactFactory(org=org)
    DocumentFactory(org=org, contact=other_vendor, number=bill.number)

    assert_refused(bill, {"contact": other_vendor}, "number")


def test_document_update_allows_number_used_by_another_contact(bill, clerk, org):
    DocumentFactory(org=org, contact=ContactFactory(org=org), number="SHARED-1")

    result = document_update(document=bill, actor=clerk, data={"number": "SHARED-1"})

    assert result.changed_fields == frozenset({"number"})
    bill.refresh_from_db()
    assert bill.number == "SHARED-1"


def test_document_update_total_down_to_amount_paid_leaves_no_unpayable_balance(
    partly_paid_bill, clerk
):
    document_update(
        document=partly_paid_bill, actor=clerk, data={"total": "40.00"}, lines=[line("40.00")]
    )
    partly_paid_bill.refresh_from_db()
    assert partly_paid_bill.amount_due == Decimal("0.00")
    assert partly_paid_bill.status == DocumentStatus.PAID
    payments = Payment.objects.count()

    with pytest.raises(ValidationError):
        document_mark_paid(document=partly_paid_bill, actor=clerk, paid_at="2026-11-20")
    assert Payment.objects.count() == payments
