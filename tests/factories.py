import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import ApiKey, Membership, Organization, Role
from accounts.services import api_key_create
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
from integrations.models import Connection, Mapping, MappingKind, Provider
from synclog.models import (
    AttemptOutcome,
    EntryType,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
    Trigger,
)
from webhooks.models import WebhookEndpoint

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
    # Outside the 4xx account codes tests name themselves (e.g. get_or_create "429"): a code
    # from the sequence met one of those in some test orders (a duplicate code).
    code = factory.Sequence(lambda n: str(10000 + n))


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


# --- integrations, the sync log, webhooks and API keys: rows written directly, no ledger ------
# (a connection here has no credentials: for pages and reads; `connect_org` in
# tests/ledger_fixtures.py connects one to an emulator)


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    org = factory.SubFactory(OrganizationFactory)
    provider = Provider.XERO
    name = "Xero"


class MappingFactory(factory.django.DjangoModelFactory):
    """A category of the connection's organisation mapped to a ledger account."""

    class Meta:
        model = Mapping

    connection = factory.SubFactory(ConnectionFactory)
    kind = MappingKind.ACCOUNT
    local_id = factory.LazyAttribute(lambda m: CategoryFactory(org=m.connection.org).pk)
    external_id = factory.Sequence(lambda n: f"ledger-account-{n}")
    external_name = factory.Sequence(lambda n: f"Account {n}")


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A run of the connection's organisation (pass `connection`; its org is the run's)."""

    class Meta:
        model = SyncRun

    connection = factory.SubFactory(ConnectionFactory)
    org = factory.LazyAttribute(lambda run: run.connection.org)
    trigger = Trigger.BULK

    class Params:
        # A finished run whose one item failed for a missing mapping (missing_mapping=True).
        missing_mapping = factory.Trait(
            status_code=StatusCode.CONFIGURATION,
            started_at=factory.LazyFunction(timezone.now),
            finished_at=factory.SelfAttribute("started_at"),
            total=1,
            failed=1,
        )


class SyncRecordFactory(factory.django.DjangoModelFactory):
    """A bill's record on a connection, Pending unless told (pass `connection`, and `document`
    of the same organisation, or one is made)."""

    class Meta:
        model = SyncRecord

    connection = factory.SubFactory(ConnectionFactory)
    org = factory.LazyAttribute(lambda record: record.connection.org)
    document = factory.SubFactory(
        DocumentFactory, org=factory.SelfAttribute("..org"), status=DocumentStatus.APPROVED
    )
    entry_type = EntryType.BILL
    status = RecordStatus.PENDING

    class Params:
        # Failed for a missing mapping, as the engine leaves it (missing_mapping=True).
        missing_mapping = factory.Trait(
            status=RecordStatus.FAILED,
            last_error_code=StatusCode.CONFIGURATION,
            last_error_message="Category Travel has no Xero mapping.",
        )


class SyncAttemptFactory(factory.django.DjangoModelFactory):
    """A successful create of the record, now (or at `started_at`), taking a second."""

    class Meta:
        model = SyncAttempt

    record = factory.SubFactory(SyncRecordFactory)
    org = factory.LazyAttribute(lambda attempt: attempt.record.org)
    trigger = Trigger.AUTO
    operation = Operation.CREATE
    outcome = AttemptOutcome.SUCCESS
    status_code = StatusCode.SUCCESS
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(
        lambda attempt: attempt.started_at + datetime.timedelta(seconds=1)
    )


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    org = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://partner.example.com/hooks/{n}")
    events = factory.LazyFunction(lambda: ["sync.completed", "sync.failed"])
    secret = factory.Sequence(lambda n: f"whsec_test{n:032d}")  # the model encrypts it


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A key made by the service (only its digest is stored); the key itself is `.plaintext`."""

    class Meta:
        model = ApiKey

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")

    @classmethod
    def _create(cls, model_class, *, org, name, **kwargs):
        created = api_key_create(org=org, name=name, actor=kwargs.pop("created_by", None))
        created.api_key.plaintext = created.plaintext
        return created.api_key
