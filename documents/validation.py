"""Parsing shared by the document services; each raises ValidationError keyed by field."""

import datetime
from decimal import Decimal, InvalidOperation

import pycountry
from django.core.exceptions import ValidationError

CENT = Decimal("0.01")


def parse_money(value, *, field: str, allow_zero: bool = True) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: "Enter a number, such as 1250.00."}) from None
    if not amount.is_finite():
        raise ValidationError({field: "Enter a number, such as 1250.00."})
    # Size first: quantizing a huge number raises instead of answering.
    if amount >= Decimal("1e12"):
        raise ValidationError({field: "The amount is too large."})
    if amount < 0:
        raise ValidationError({field: "The amount must not be negative."})
    if amount == 0 and not allow_zero:
        raise ValidationError({field: "The amount must be greater than zero."})
    if amount != amount.quantize(CENT):
        raise ValidationError({field: "Use at most two decimal places."})
    return amount.quantize(CENT)


def parse_quantity(value, *, field: str) -> Decimal:
    try:
        quantity = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: "Enter a number."}) from None
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationError({field: "The quantity must be greater than zero."})
    if quantity >= Decimal("1e8") or quantity != quantity.quantize(Decimal("0.0001")):
        raise ValidationError({field: "Use at most four decimal places and less than 10^8."})
    return quantity


def clean_text(value, *, field: str, max_length: int, required: str = "") -> str:
    """Strip text and check its length; `required` is the message when it must not be empty."""
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: required})
    if len(text) > max_length:
        raise ValidationError({field: f"Use at most {max_length} characters."})
    return text


def parse_currency(value, *, field: str = "currency") -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError(
            {field: f"“{value}” is not an ISO 4217 currency code (e.g. EUR, USD)."}
        )
    return code


def parse_date(value, *, field: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationError({field: "Enter a date as YYYY-MM-DD."}) from None


class ErrorCollector:
    """Gathers field errors so the user sees all of them at once, then raises them together."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def run(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add(field, message)
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
