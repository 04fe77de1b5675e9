import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organization, Role
from documents.models import (
    Category,
    Contact,
    ContactKind,
    Department,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
)

TEST_PASSWORD = "test-pass-123"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(OrganizationFactory)
    role = Role.AP_CLERK


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Vendor {n}")
    kind = ContactKind.VENDOR


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    code = factory.Sequence(lambda n: str(400 + n))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class DocumentFactory(factory.django.DjangoModelFactory):
    """A document written directly (no service), with one line equal to its total."""

    class Meta:
        model = Document
        skip_postgeneration_save = True

    org = factory.SubFactory(OrganizationFactory)
    kind = DocumentKind.BILL
    number = factory.Sequence(lambda n: f"INV-{n:05d}")
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    issue_date = datetime.date(2026, 11, 1)
    due_date = datetime.date(2026, 11, 30)
    currency = "EUR"
    total = Decimal("100.00")
    category = factory.SubFactory(CategoryFactory, org=factory.SelfAttribute("..org"))
    department = None
    status = DocumentStatus.AWAITING_APPROVAL

    @factory.post_generation
    def with_line(obj, create, extracted, **kwargs):
        if create:
            DocumentLine.objects.create(
                document=obj,
                description="Services",
                quantity=Decimal("1"),
                unit_amount=obj.total,
                amount=obj.total,
            )
