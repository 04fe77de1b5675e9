"""Helpers shared by the document service tests."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Model

from documents.models import (
    Attachment,
    Category,
    Contact,
    Department,
    Document,
    DocumentLine,
    Payment,
)

COUNTED_MODELS = (Document, DocumentLine, Payment, Attachment, Contact, Category, Department)


def row_counts() -> dict[str, int]:
    """How many rows each document-related table holds, to show that nothing was written."""
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def assert_refused(service, *fields: str, **kwargs) -> ValidationError:
    """`service(**kwargs)` raises exactly these field errors and writes nothing."""
    counts = row_counts()
    with pytest.raises(ValidationError) as excinfo:
        service(**kwargs)
    assert set(excinfo.value.message_dict) == set(fields)
    assert row_counts() == counts
    return excinfo.value


def _row(obj: Model) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def document_state(document: Document) -> dict:
    """The document's stored row with its lines and payments, re-read from the database."""
    document.refresh_from_db()
    return {
        "document": _row(document),
        "lines": [_row(line) for line in DocumentLine.objects.filter(document=document)],
        "payments": [_row(payment) for payment in Payment.objects.filter(document=document)],
    }


def line_values(document: Document) -> list[tuple]:
    return list(
        DocumentLine.objects.filter(document=document)
        .order_by("position", "id")
        .values_list("position", "description", "quantity", "unit_amount", "amount", "category")
    )
