"""The demo's QuickBooks Online and MYOB teams, connected and mapped as the README tells their
admins to, get every bill and payment they hold into their ledger with one Push them now (force
sync), against the in-process emulators (every exchange held to the ledger's schemas)."""

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.management import call_command

from accounts.models import Organization
from documents.models import (
    Category,
    Contact,
    Department,
    Document,
    DocumentKind,
    DocumentStatus,
    Payment,
)
from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from tests.ledger_fixtures import UNLIMITED, credentials_from_token

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class DemoTeam:
    """A demo organisation on its ledger's emulator, and how the README maps it by name."""

    slug: str
    provider: str
    connection_name: str
    emulator: str  # the fixtures of its emulator and of the transport to it
    transport: str
    url_setting: str
    add_tenant: Callable  # (emulator) -> the new company's id
    # README: map each category to the ledger account of the same name, or this one.
    account_for_category: dict
    tracking: Callable  # (choices) -> {department name: tracking option id}
    bank_account: str
    drain_rounds: int
    bill_numbers: Callable  # (emulator, tenant_id or None) -> the numbers of its bills
    payments: Callable  # (emulator, tenant_id) -> its bill payments


QBO = DemoTeam(
    slug="initech",
    provider=Provider.QUICKBOOKS,
    connection_name="QuickBooks Online",
    emulator="qbo_emulator",
    transport="qbo_transport",
    url_setting="QBO_EMULATOR_URL",
    add_tenant=lambda emulator: emulator.add_realm("Initech Inc. (QBO)")["realmId"],
    # README: "map each category to the QuickBooks account of the same name (Consulting →
    # Legal & Professional Fees, Rent → Rent or Lease)".
    account_for_category={"Consulting": "Legal & Professional Fees", "Rent": "Rent or Lease"},
    tracking=lambda choices: {o.option_name: o.option_id for o in choices.tracking_options},
    bank_account="Checking",
    drain_rounds=40,
    bill_numbers=lambda emulator, tenant: [
        bill["DocNumber"] for bill in emulator.entities("Bill", realm_id=tenant)
    ],
    payments=lambda emulator, tenant: emulator.entities("BillPayment", realm_id=tenant),
)
MYOB = DemoTeam(
    slug="clearwater",
    provider=Provider.MYOB,
    connection_name="MYOB",
    emulator="myob_emulator",
    transport="myob_transport",
    url_setting="MYOB_EMULATOR_URL",
    add_tenant=lambda emulator: emulator.add_company_file("Clearwater Workshop Pty Ltd (MYOB)")[
        "businessId"
    ],
    # README: "map each category to the MYOB account of the same name".
    account_for_category={},
    tracking=lambda choices: {
        o.option_name.split(" ", 1)[1]: o.option_id
        for o in choices.tracking_options
        if o.category_name == "Job"
    },
    bank_account="Business Bank Account",
    drain_rounds=60,
    bill_numbers=lambda emulator, tenant: [
        bill["SupplierInvoiceNumber"] for bill in emulator.records("Purchase/Bill/Service", tenant)
    ],
    payments=lambda emulator, tenant: emulator.records("Purchase/SupplierPayment", tenant),
)


@pytest.mark.parametrize("team", [QBO, MYOB], ids=["qbo", "myob"])
def test_the_demo_team_mapped_by_name_pushes_every_bill_and_payment(
    team, request, monkeypatch, settings, enqueued, drain
):
    emulator = request.getfixturevalue(team.emulator)
    transport = request.getfixturevalue(team.transport)
    call_command("seed_demo", stdout=io.StringIO())
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: transport
    )
    org = Organization.objects.get(slug=team.slug)
    tenant_id = team.add_tenant(emulator)
    connection = Connection.objects.create(
        org=org,
        provider=team.provider,
        name=team.connection_name,
        base_url=getattr(settings, team.url_setting),
        tenant_id=tenant_id,
        settings={"rate_limits": UNLIMITED},
    )
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(emulator.connect(tenant_id))
    )
    # What the Mappings page offers and saves, picked by name as the README says.
    choices = integration_selectors.connection_ledger_choices(connection=connection)
    accounts = {account.name: account.external_id for account in choices.bookable_accounts}
    tracking = team.tracking(choices)
    contacts = {contact.name: contact.external_id for contact in choices.contacts}
    [bank] = [a.code for a in choices.bank_accounts if a.name == team.bank_account]
    integration_services.mappings_save(
        connection=connection,
        choices=choices,
        accounts={
            category.pk: accounts[team.account_for_category.get(category.name, category.name)]
            for category in Category.objects.for_org(org)
        },
        tracking={
            department.pk: tracking[department.name]
            for department in Department.objects.for_org(org)
        },
        contacts={contact.pk: contacts[contact.name] for contact in Contact.objects.for_org(org)},
        payment_account_code=bank,
    )

    admin = org.memberships.get(user__username=team.slug).user
    run = services.force_sync(org=org, connection=connection, actor=admin)
    drain(rounds=team.drain_rounds)

    records = SyncRecord.objects.filter(connection=connection)
    assert run.total > 0
    assert not records.exclude(status=RecordStatus.COMPLETE).exists(), [
        (r.entry_type, r.last_error_message) for r in records.exclude(status=RecordStatus.COMPLETE)
    ]
    in_ledger = Document.objects.for_org(org).filter(
        kind=DocumentKind.BILL, status__in=[DocumentStatus.APPROVED, DocumentStatus.PAID]
    )
    assert sorted(team.bill_numbers(emulator, tenant_id)) == sorted(d.number for d in in_ledger)
    assert len(team.payments(emulator, tenant_id)) == Payment.objects.for_org(org).count() > 0
    # The other company (the one the emulator is seeded with) got nothing.
    assert team.bill_numbers(emulator, None) == []
