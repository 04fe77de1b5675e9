import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from documents.models import ContactKind, Document, DocumentKind, DocumentStatus
from documents.services import document_create
from documents.services import documents as document_writes
from tests.documents.services import helpers
from tests.documents.services.helpers import line_values, row_counts
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory

pytestmark = pytest.mark.django_db

NOT_YOURS = "Choose a valid option: that one does not exist."


@pytest.fixture
def build(org, clerk, vendor, category):
    """Keyword arguments of a valid bill of 150.00; tests override what they check."""

    def build(**overrides):
        kwargs = {
            "org": org,
            "actor": clerk,
            "kind": DocumentKind.BILL,
            "number": "B-100",
            "contact": vendor,
            "issue_date": "2026-11-01",
            "due_date": "2026-11-30",
            "currency": "EUR",
            "total": "150.00",
            "lines": [{"description": "Paper", "quantity": "3", "unit_amount": "50.00"}],
            "category": category,
            "description": "Office paper",
        }
        kwargs.update(overrides)
        return kwargs

    return build


def assert_refused(kwargs: dict, *fields: str) -> ValidationError:
    """document_create raises exactly these field errors and writes nothing."""
    return helpers.assert_refused(document_create, *fields, **kwargs)


def line(unit_amount="150.00", **fields) -> dict:
    return {"description": "Paper", "quantity": "1", "unit_amount": unit_amount, **fields}


# --- happy paths ------------------------------------------------------------------------------


def test_document_create_writes_document_and_lines(build, org, clerk, vendor, category):
    before = row_counts()

    document = document_create(**build())

    document.refresh_from_db()
    assert document.org == org
    assert document.kind == DocumentKind.BILL
    assert document.number == "B-100"
    assert document.contact == vendor
    assert document.issue_date == datetime.date(2026, 11, 1)
    assert document.due_date == datetime.date(2026, 11, 30)
    assert document.currency == "EUR"
    assert document.total == Decimal("150.00")
    assert document.category == category
    assert document.department is None
    assert document.description == "Office paper"
    assert document.status == DocumentStatus.DRAFT
    assert document.amount_paid == Decimal("0.00")
    assert document.created_by == clerk
    assert document.approved_by is None
    assert document.marked_paid is False
    assert line_values(document) == [
        (0, "Paper", Decimal("3.0000"), Decimal("50.00"), Decimal("150.00"), None)
    ]
    after = row_counts()
    assert after["Document"] == before["Document"] + 1
    assert after["DocumentLine"] == before["DocumentLine"] + 1
    assert after["Payment"] == before["Payment"]


def test_document_create_writes_several_lines_in_order(build, org, department):
    travel = CategoryFactory(org=org, name="Travel", code="493")
    lines = [
        {"description": " Train ", "quantity": "2", "unit_amount": "45.50", "category": travel},
        {"description": "Hotel", "unit_amount": "49.00"},  # quantity defaults to 1
        {"description": "Snacks", "quantity": "0.5", "unit_amount": "19.98"},
    ]

    document = document_create(**build(total="149.99", lines=lines, department=department))

    assert document.department == department
    assert line_values(document) == [
        (0, "Train", Decimal("2.0000"), Decimal("45.50"), Decimal("91.00"), travel.id),
        (1, "Hotel", Decimal("1.0000"), Decimal("49.00"), Decimal("49.00"), None),
        (2, "Snacks", Decimal("0.5000"), Decimal("19.98"), Decimal("9.99"), None),
    ]


def test_document_create_accepts_a_zero_line_beside_others(build):
    lines = [line("150.00"), line("0", description="Free delivery")]

    document = document_create(**build(lines=lines))

    assert [row[4] for row in line_values(document)] == [Decimal("150.00"), Decimal("0.00")]


@pytest.mark.parametrize(
    "total", ["150", "150.0", " 150.00 ", 150, Decimal("150"), "1.5E+2", Decimal("150.000")]
)
def test_document_create_normalises_total(build, total):
    document = document_create(**build(total=total))

    document.refresh_from_db()
    assert document.total == Decimal("150.00")


@pytest.mark.parametrize(("given", "stored"), [("eur", "EUR"), (" usd ", "USD"), ("Gbp", "GBP")])
def test_document_create_upper_cases_currency(build, given, stored):
    document = document_create(**build(currency=given))

    document.refresh_from_db()
    assert document.currency == stored


@pytest.mark.parametrize(
    ("issue_date", "due_date"),
    [
        (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
        (datetime.datetime(2026, 11, 1, 9, 30), "2026-11-30"),
        ("2026-11-01", "2026-11-01"),  # due on the day of issue
    ],
)
def test_document_create_accepts_dates(build, issue_date, due_date):
    document = document_create(**build(issue_date=issue_date, due_date=due_date))

    document.refresh_from_db()
    assert document.issue_date == datetime.date(2026, 11, 1)
    assert document.due_date == parse_iso(due_date)


def parse_iso(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def test_document_create_strips_number_and_description(build):
    document = document_create(**build(number="  B-7 ", description="  Paper  "))

    document.refresh_from_db()
    assert (document.number, document.description) == ("B-7", "Paper")


def test_document_create_accepts_none_description(build):
    document = document_create(**build(description=None))

    document.refresh_from_db()
    assert document.description == ""


def test_document_create_accepts_a_64_character_number(build):
    document = document_create(**build(number="N" * 64))

    assert document.number == "N" * 64


@pytest.mark.parametrize(
    ("kind", "contact_kind"),
    [
        (DocumentKind.BILL, ContactKind.VENDOR),
        (DocumentKind.EXPENSE, ContactKind.VENDOR),
        (DocumentKind.INVOICE, ContactKind.CUSTOMER),
    ],
)
def test_document_create_accepts_contact_of_the_right_kind(build, org, kind, contact_kind):
    contact = ContactFactory(org=org, kind=contact_kind)

    document = document_create(**build(kind=kind, contact=contact))

    document.refresh_from_db()
    assert (document.kind, document.contact) == (kind, contact)


# --- amounts ----------------------------------------------------------------------------------


BAD_AMOUNTS = [
    "-150.00",
    "-0.01",
    "abc",
    "",
    "   ",
    None,
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "150.001",
    "1,50",
    "1e12",
    [],
]


@pytest.mark.parametrize("total", [*BAD_AMOUNTS, "0", "0.00", 0, Decimal("-0")])
def test_document_create_refuses_bad_total(build, total):
    assert_refused(build(total=total), "total")


@pytest.mark.parametrize("unit_amount", BAD_AMOUNTS)
def test_document_create_refuses_bad_line_unit_amount(build, unit_amount):
    assert_refused(build(lines=[line(unit_amount)]), "lines.0.unit_amount")


def test_document_create_refuses_line_without_unit_amount(build):
    assert_refused(build(lines=[{"description": "Paper"}]), "lines.0.unit_amount")


def test_document_create_keys_line_errors_by_index(build):
    lines = [line("100.00"), line("abc"), line("50.00", description="")]

    assert_refused(build(lines=lines), "lines.1.unit_amount", "lines.2.description")


@pytest.mark.parametrize(
    "quantity", ["0", "-1", "abc", "", None, "NaN", "Infinity", "1.00001", "100000000"]
)
def test_document_create_refuses_bad_quantity(build, quantity):
    assert_refused(build(lines=[line(quantity=quantity)]), "lines.0.quantity")


@pytest.mark.parametrize("description", ["", "   ", None])
def test_document_create_refuses_line_without_description(build, description):
    assert_refused(build(lines=[line(description=description)]), "lines.0.description")


def test_document_create_refuses_line_missing_description_key(build):
    assert_refused(build(lines=[{"unit_amount": "150.00"}]), "lines.0.description")


@pytest.mark.parametrize("lines", [[], None])
def test_document_create_refuses_no_lines(build, lines):
    error = assert_refused(build(lines=lines), "lines")

    assert error.message_dict["lines"] == ["Add at least one line."]


@pytest.mark.parametrize(
    "amounts", [["100.00"], ["100.00", "49.99"], ["100.00", "50.01"], ["0.00"]]
)
def test_document_create_refuses_lines_not_summing_to_total(build, amounts):
    error = assert_refused(build(lines=[line(amount) for amount in amounts]), "lines")

    assert "not the total 150.00" in error.message_dict["lines"][0]


def test_document_create_refuses_quantity_times_unit_not_summing_to_total(build):
    lines = [{"description": "Paper", "quantity": "2", "unit_amount": "50.00"}]

    assert_refused(build(lines=lines), "lines")


def test_document_create_refuses_huge_total(build):
    assert_refused(build(total="1e30"), "total")


def test_document_create_refuses_huge_quantity(build):
    assert_refused(build(lines=[line(quantity="1e30")]), "lines.0.quantity")


# --- currency and dates -----------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["XYZ", "eu", "", "   ", None, "EURO", "123", "€"])
def test_document_create_refuses_unknown_currency(build, currency):
    assert_refused(build(currency=currency), "currency")


@pytest.mark.parametrize("due_date", ["2026-10-31", datetime.date(2026, 1, 1)])
def test_document_create_refuses_due_date_before_issue_date(build, due_date):
    error = assert_refused(build(due_date=due_date), "due_date")

    assert error.message_dict["due_date"] == ["The due date cannot be before the issue date."]


BAD_DATES = ["2026-13-01", "2026-02-30", "31/12/2026", "tomorrow", "", None]


@pytest.mark.parametrize("issue_date", BAD_DATES)
def test_document_create_refuses_bad_issue_date(build, issue_date):
    assert_refused(build(issue_date=issue_date), "issue_date")


@pytest.mark.parametrize("due_date", BAD_DATES)
def test_document_create_refuses_bad_due_date(build, due_date):
    assert_refused(build(due_date=due_date), "due_date")


def test_document_create_reports_all_errors_at_once(build):
    assert_refused(
        build(number="", total="abc", currency="XYZ", due_date="soon", lines=[]),
        "number",
        "total",
        "currency",
        "due_date",
        "lines",
    )


# --- number, kind and contact -----------------------------------------------------------------


@pytest.mark.parametrize("number", ["", "   ", None, "N" * 65])
def test_document_create_refuses_bad_number(build, number):
    assert_refused(build(number=number), "number")


def test_document_create_refuses_unknown_kind(build):
    assert_refused(build(kind="receipt"), "kind")


def test_document_create_refuses_missing_contact(build):
    assert_refused(build(contact=None), "contact")


@pytest.mark.parametrize(
    ("kind", "contact_kind"),
    [
        (DocumentKind.BILL, ContactKind.CUSTOMER),
        (DocumentKind.EXPENSE, ContactKind.CUSTOMER),
        (DocumentKind.INVOICE, ContactKind.VENDOR),
    ],
)
def test_document_create_refuses_contact_of_the_wrong_kind(build, org, kind, contact_kind):
    contact = ContactFactory(org=org, kind=contact_kind)

    assert_refused(build(kind=kind, contact=contact), "contact")


@pytest.mark.parametrize("number", ["B-100", "  B-100  "])
def test_document_create_refuses_duplicate_number_for_contact_and_kind(build, org, vendor, number):
    DocumentFactory(org=org, contact=vendor, number="B-100")

    error = assert_refused(build(number=number), "number")

    assert "already has a bill numbered B-100" in error.message_dict["number"][0]


def test_document_create_allows_same_number_for_another_contact(build, org, vendor):
    DocumentFactory(org=org, contact=vendor, number="B-100")
    other_vendor = ContactFactory(org=org)

    document = document_create(**build(contact=other_vendor))

    assert Document.objects.filter(org=org, number="B-100").count() == 2
    assert document.contact == other_vendor


def test_document_create_allows_same_number_for_another_kind(build, org, vendor):
    DocumentFactory(org=org, contact=vendor, number="B-100", kind=DocumentKind.EXPENSE)

    document = document_create(**build())

    assert document.kind == DocumentKind.BILL


def test_document_create_allows_same_number_in_another_org(build, other_org, foreign_vendor):
    DocumentFactory(org=other_org, contact=foreign_vendor, number="B-100")

    document = document_create(**build())

    assert document.number == "B-100"


def test_document_create_turns_a_racing_duplicate_into_a_number_error(
    build, org, vendor, monkeypatch
):
    # Another writer took the number between the check and the insert.
    DocumentFactory(org=org, contact=vendor, number="B-100")
    monkeypatch.setattr(document_writes, "_check_number_free", lambda errors, *, document: None)

    assert_refused(build(), "number")


# --- other organisations ----------------------------------------------------------------------


def test_document_create_refuses_contact_of_another_org(build, foreign_vendor):
    error = assert_refused(build(contact=foreign_vendor), "contact")

    assert error.message_dict["contact"] == [NOT_YOURS]


def test_document_create_refuses_category_of_another_org(build, foreign_category):
    error = assert_refused(build(category=foreign_category), "category")

    assert error.message_dict["category"] == [NOT_YOURS]


def test_document_create_refuses_department_of_another_org(build, foreign_department):
    error = assert_refused(build(department=foreign_department), "department")

    assert error.message_dict["department"] == [NOT_YOURS]


def test_document_create_refuses_line_category_of_another_org(build, foreign_category):
    lines = [line("100.00"), line("50.00", category=foreign_category)]

    error = assert_refused(build(lines=lines), "lines.1.category")

    assert error.message_dict["lines.1.category"] == [NOT_YOURS]


def test_document_create_does_not_reveal_other_orgs_duplicate_numbers(
    build, other_org, foreign_vendor
):
    DocumentFactory(org=other_org, contact=foreign_vendor, number="B-100")

    error = assert_refused(build(contact=foreign_vendor), "contact")

    assert error.message_dict["contact"] == [NOT_YOURS]


# --- lengths the database enforces ------------------------------------------------------------


def test_document_create_refuses_too_long_description(build):
    assert_refused(build(description="x" * 501), "description")


def test_document_create_refuses_too_long_line_description(build):
    assert_refused(build(lines=[line(description="x" * 301)]), "lines.0.description")
