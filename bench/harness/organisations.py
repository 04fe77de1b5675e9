"""Data for a run, set up through the product's services: an organisation with an admin, a
category, a vendor and approved bills, connected to its own tenant of the emulator's ledger with
its accounts mapped (`setup_org`); the engine's limits in the emulator's and the connection's
words (`engine_limits`). The product's modules are imported inside the functions: the benchmarks
set up Django only once their database exists."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bench.harness.emulators import Emulator
from bench.harness.printing import fmt


@dataclass
class OrgSetup:
    org: object
    user: object
    connection: object
    tenant_id: str
    document_ids: list[int] = field(default_factory=list)
    ledger: str = "xero"

    @property
    def references(self) -> set[str]:
        from documents.models import Document
        from integrations.payloads import document_reference

        return {document_reference(Document(pk=pk, org_id=self.org.pk)) for pk in self.document_ids}


def engine_limits(calls_per_window: int, window_seconds: float, max_concurrent: int, per_day: int):
    """The same limits in the emulator's words and in the connection's (synclog.ratelimit)."""
    emulator = {
        "calls_per_window": calls_per_window,
        "window_seconds": window_seconds,
        "max_concurrent": max_concurrent,
        "calls_per_day": per_day,
    }
    connection = {
        "per_window": calls_per_window,
        "window_seconds": window_seconds,
        "max_concurrent": max_concurrent,
        "per_day": per_day,
    }
    return emulator, connection


def quota_limits_without_a_day_limit(args):
    """engine_limits of the run's --calls-per-window, --window-seconds and --max-concurrent with
    the daily limit lifted, said first on stdout."""
    quota, window = args.calls_per_window, args.window_seconds
    print(
        f"Quota: {quota} calls per {fmt(window, 1)} s per tenant, {args.max_concurrent} "
        "concurrent (Xero: 60 per 60 s, 5 concurrent); the daily limit is lifted (10^7)."
    )
    return engine_limits(quota, window, args.max_concurrent, 10**7)


UNLIMITED_EMULATOR, UNLIMITED_CONNECTION = engine_limits(10**7, 60, 10_000, 10**9)


BILL_ISSUED, BILL_DUE = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)


def bill_via_services(org, *, contact, category, actor, number: str, amount: Decimal):
    """A one-line bill created and submitted through documents.services (awaiting approval)."""
    from documents import services as document_services

    document = document_services.document_create(
        org=org,
        actor=actor,
        number=number,
        contact=contact,
        issue_date=BILL_ISSUED,
        due_date=BILL_DUE,
        currency="USD",
        total=amount,
        category=category,
        lines=[{"description": "Services", "quantity": Decimal(1), "unit_amount": amount}],
    )
    document_services.document_submit(document=document, actor=actor)
    return document


def make_bills(org, *, contact, category, actor, count: int, via_services: int) -> list[int]:
    """Approved bills. The first `via_services` go through documents.services (create, submit,
    approve: the product's checks); the rest are bulk_create'd already approved, with one line
    each, because the benchmarks measure syncing, not approval. Made before the organisation has
    a connection, so approval enqueues nothing."""
    from django.db import transaction
    from django.utils import timezone

    from documents import services as document_services
    from documents.models import Document, DocumentKind, DocumentLine, DocumentStatus

    issue, due = BILL_ISSUED, BILL_DUE
    ids = []
    for index in range(min(count, via_services)):
        document = bill_via_services(
            org,
            contact=contact,
            category=category,
            actor=actor,
            number=f"S{org.pk}-{index:06d}",
            amount=Decimal(100 + index % 900),
        )
        document_services.document_approve(document=document, actor=actor)
        ids.append(document.pk)
    now = timezone.now()
    remaining = range(min(count, via_services), count)
    for start in range(remaining.start, remaining.stop, 2000):
        chunk = range(start, min(start + 2000, remaining.stop))
        with transaction.atomic():
            documents = Document.objects.bulk_create(
                Document(
                    org=org,
                    kind=DocumentKind.BILL,
                    number=f"B{org.pk}-{index:06d}",
                    contact=contact,
                    issue_date=issue,
                    due_date=due,
                    currency="USD",
                    total=Decimal(100 + index % 900),
                    category=category,
                    status=DocumentStatus.APPROVED,
                    created_by=actor,
                    approved_by=actor,
                    approved_at=now,
                )
                for index in chunk
            )
            DocumentLine.objects.bulk_create(
                DocumentLine(
                    document=document,
                    position=0,
                    description="Services",
                    quantity=Decimal(1),
                    unit_amount=document.total,
                    amount=document.total,
                )
                for document in documents
            )
        ids += [document.pk for document in documents]
    return ids


def setup_org(
    emulator: Emulator,
    *,
    name: str,
    bills: int,
    connection_limits: dict,
    tenant_id: str | None = None,
    via_services: int = 20,
    before_connect: Callable | None = None,
) -> OrgSetup:
    """An organisation with an admin, a category (account 429), a vendor, `bills` approved
    bills, and a connection to its own tenant of the emulator's ledger with mapped accounts (on
    QuickBooks the category to Office Supplies and the vendor to a QuickBooks vendor: it takes
    none by name). `connection_limits` None: the ledger's own quota, as its connector declares
    it. `before_connect(org, user, document_ids)` runs before the connection exists (what it
    does, e.g. recording payments, enqueues no push)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Organization, Role
    from documents import services as document_services
    from integrations import services as integration_services
    from integrations.connectors.types import OAuthCredentials
    from integrations.models import Connection, Provider
    from synclog.ratelimit import get_rate_limiter
    from synclog.services import connection_quota_key

    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())[:60] + f"-{uuid.uuid4().hex[:6]}"
    org = Organization.objects.create(name=name, slug=slug, currency="USD")
    user = get_user_model().objects.create_user(username=f"admin-{slug}", password=uuid.uuid4().hex)
    Membership.objects.create(user=user, org=org, role=Role.ADMIN, can_export=True)
    category = document_services.category_create(org=org, name="Office", code="429")
    contact = document_services.contact_create(org=org, name=f"Supplier of {name}")
    document_ids = make_bills(
        org, contact=contact, category=category, actor=user, count=bills, via_services=via_services
    )
    if before_connect is not None:
        before_connect(org, user, document_ids)
    tenant_id = tenant_id or emulator.add_tenant(name)
    token = emulator.connect(tenant_id)
    qbo, on_myob = emulator.ledger == "qbo", emulator.ledger == "myob"
    provider = Provider.QUICKBOOKS if qbo else Provider.MYOB if on_myob else Provider.XERO
    connection = Connection.objects.create(
        org=org,
        provider=provider,
        name=f"{provider.label} {name}",
        base_url=integration_services.base_url_validate(emulator.url),
        tenant_id=tenant_id,
        tenant_name=name,
        settings={"payment_account_code": "090"}
        | ({"rate_limits": connection_limits} if connection_limits else {}),
    )
    credentials = OAuthCredentials(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=int(token["expires_in"])),  # MYOB's is a string
        scope=token.get("scope", ""),
    )
    integration_services.connection_credentials_save(connection=connection, credentials=credentials)
    if emulator.ledger in SEEDED_MAPPINGS:
        _map_as_an_admin(connection, ledger=emulator.ledger, category=category, contact=contact)
    else:
        accounts = integration_services.connector_for(connection).list_accounts()
        integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)
    # Setting up cost calls (the ledger's lists): start every run with a clean quota (an
    # app-scoped ledger's, MYOB's, is every organisation's).
    get_rate_limiter().reset(connection_quota_key(connection=connection))
    return OrgSetup(
        org=org,
        user=user,
        connection=connection,
        tenant_id=tenant_id,
        document_ids=document_ids,
        ledger=emulator.ledger,
    )


@dataclass(frozen=True)
class SeededMappings:
    """What an admin maps on the mappings page onto an emulator's seeded company, for a ledger
    whose accounts carry none of our codes and that takes no vendor by name (QuickBooks, MYOB):
    one definition for the bench's organisations and the tests' (tests/ledger_books.py)."""

    account_key: str  # how the page names an account: by its "name" or its "code"
    account_for_code: dict[str, str]  # our category's code -> its account (by account_key)
    vendor: str  # the seeded vendor (a QuickBooks vendor, a MYOB supplier card)
    payment_account: str  # the account bills are paid from (by account_key)


# The emulators' seeded accounts (integrations/emulators/qbo/seed.py, myob/seed.py) for our
# categories' codes.
SEEDED_MAPPINGS = {
    "qbo": SeededMappings(
        account_key="name",
        account_for_code={
            "412": "Legal & Professional Fees",
            "429": "Office Supplies",
            "445": "Utilities",
            "469": "Rent or Lease",
            "493": "Travel",
        },
        vendor="Office Supplies Ltd",
        payment_account="Checking",
    ),
    "myob": SeededMappings(
        account_key="code",
        account_for_code={
            "412": "6-1300",
            "429": "6-1100",
            "445": "6-1400",
            "469": "6-1200",
            "493": "6-1500",
        },
        vendor="Acme Supplies",
        payment_account="1-1110",
    ),
}


def _map_as_an_admin(connection, *, ledger: str, category, contact) -> None:
    from integrations import services as integration_services
    from integrations.models import MappingKind

    seeded = SEEDED_MAPPINGS[ledger]
    connector = integration_services.connector_for(connection)
    try:
        accounts = {getattr(a, seeded.account_key): a for a in connector.list_accounts()}
        [vendor] = [v for v in connector.list_contacts() if v.name == seeded.vendor]
    finally:
        connector.close()
    account = accounts[seeded.account_for_code[category.code]]
    integration_services.mapping_set_account(
        connection=connection, category_id=category.pk, account=account
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.CONTACT,
        local_id=contact.pk,
        external_id=vendor.external_id,
        external_name=vendor.name,
    )
    integration_services.connection_settings_update(
        connection=connection, payment_account_code=accounts[seeded.payment_account].code
    )
