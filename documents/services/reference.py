"""Writes to the organisation's contacts (vendors, customers), categories and departments."""

from django.core.exceptions import ValidationError

from accounts.models import Organization
from documents.models import Category, Contact, ContactKind, Department
from documents.validation import ErrorCollector


def contact_create(
    *,
    org: Organization,
    name: str,
    kind: str = ContactKind.VENDOR,
    tax_number: str = "",
    email: str = "",
) -> Contact:
    """A vendor or customer of the organisation, named; a blank name or an unknown kind is
    a ValidationError and nothing is written."""
    errors = ErrorCollector()
    if not (name or "").strip():
        errors.add("name", "Enter the contact's name.")
    if kind not in ContactKind.values:
        errors.add("kind", f"Choose one of: {', '.join(ContactKind.values)}.")
    errors.raise_if_any()
    contact = Contact(org=org, name=name.strip(), kind=kind, tax_number=tax_number, email=email)
    contact.full_clean(exclude=["org"])
    contact.save()
    return contact


def category_create(*, org: Organization, name: str, code: str) -> Category:
    """A category booked to ledger account `code`, which no other category of the
    organisation uses (ValidationError otherwise; nothing written)."""
    if Category.objects.for_org(org).filter(code=code).exists():
        raise ValidationError({"code": f"A category with account code {code} exists already."})
    category = Category(org=org, name=name, code=code)
    category.full_clean(exclude=["org"])
    category.save()
    return category


def department_create(*, org: Organization, name: str) -> Department:
    """A department of the organisation, its name unique there (ValidationError otherwise)."""
    if Department.objects.for_org(org).filter(name=name).exists():
        raise ValidationError({"name": f"A department named {name} exists already."})
    department = Department(org=org, name=name)
    department.full_clean(exclude=["org"])
    department.save()
    return department
