"""The demo's QuickBooks Online team, connected and mapped as the README tells its admin to, gets
every bill and payment it holds into the QuickBooks company with one Push them now (force sync),
against the in-process QBO emulator (every exchange held to Intuit's schemas)."""

import io

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

# README: "map each category to the QuickBooks account of the same name (Consulting → Legal &
# Professional Fees, Rent → Rent or Lease)".
ACCOUNT_FOR_CATEGORY = {"Consulting": "Legal & Professional Fees", "Rent": "Rent or Lease"}


@pytest.fixture
def initech_on_qbo(qbo_emulator, qbo_transport, monkeypatch, settings, enqueued):
    call_command("seed_demo", stdout=io.StringIO())
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: qbo_transport
    )
    initech = Organization.objects.get(slug="initech")
    realm = qbo_emulator.add_realm("Initech Inc. (QBO)")["realmId"]
    connection = Connection.objects.create(
        org=initech,
        provider=Provider.QUICKBOOKS,
        name="QuickBooks Online",
        base_url=settings.QBO_EMULATOR_URL,
        tenant_id=realm,
        settings={"rate_limits": UNLIMITED},
    )
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(qbo_emulator.connect(realm))
    )
    return connection


def test_initech_mapped_by_name_pushes_every_bill_and_payment(initech_on_qbo, qbo_emulator, drain):
    connection = initech_on_qbo
    initech = connection.org
    # What the Mappings page offers and saves, picked by name as the README says.
    choices = integration_selectors.connection_ledger_choices(connection=connection)
    accounts = {account.name: account.external_id for account in choices.bookable_accounts}
    classes = {o.option_name: o.option_id for o in choices.tracking_options}
    vendors = {contact.name: contact.external_id for contact in choices.contacts}
    [checking] = [account.code for account in choices.bank_accounts if account.name == "Checking"]
    integration_services.mappings_save(
        connection=connection,
        choices=choices,
        accounts={
            category.pk: accounts[ACCOUNT_FOR_CATEGORY.get(category.name, category.name)]
            for category in Category.objects.for_org(initech)
        },
        tracking={
            department.pk: classes[department.name]
            for department in Department.objects.for_org(initech)
        },
        contacts={
            contact.pk: vendors[contact.name] for contact in Contact.objects.for_org(initech)
        },
        payment_account_code=checking,
    )

    admin = initech.memberships.get(user__username="initech").user
    run = services.force_sync(org=initech, connection=connection, actor=admin)
    drain(rounds=40)

    records = SyncRecord.objects.filter(connection=connection)
    assert run.total > 0
    assert not records.exclude(status=RecordStatus.COMPLETE).exists(), [
        (r.entry_type, r.last_error_message) for r in records.exclude(status=RecordStatus.COMPLETE)
    ]
    in_ledger = Document.objects.for_org(initech).filter(
        kind=DocumentKind.BILL, status__in=[DocumentStatus.APPROVED, DocumentStatus.PAID]
    )
    bills = qbo_emulator.entities("Bill", realm_id=connection.tenant_id)
    assert sorted(bill["DocNumber"] for bill in bills) == sorted(d.number for d in in_ledger)
    payments = qbo_emulator.entities("BillPayment", realm_id=connection.tenant_id)
    assert len(payments) == Payment.objects.for_org(initech).count() > 0
    # The other companies (the sandbox one) got nothing.
    assert qbo_emulator.entities("Bill") == []
