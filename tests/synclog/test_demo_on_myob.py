"""The demo's MYOB team (Clearwater Workshop), connected and mapped as the README tells its
admin to, gets every bill and payment it holds into its MYOB company file with one Push them now
(force sync), against the in-process MYOB emulator (every exchange held to MYOB's schemas)."""

import datetime
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
from integrations.connectors.base import OAuthCredentials
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from tests.ledger_fixtures import UNLIMITED

pytestmark = pytest.mark.django_db

# README: "map each category to the MYOB account of the same name".
COMPANY_FILE = "Clearwater Workshop Pty Ltd (MYOB)"


@pytest.fixture
def clearwater_on_myob(myob_emulator, myob_transport, monkeypatch, settings, enqueued):
    call_command("seed_demo", stdout=io.StringIO())
    settings.LEDGER_EMULATOR_ALLOWED = True
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: myob_transport
    )
    clearwater = Organization.objects.get(slug="clearwater")
    business_id = myob_emulator.add_company_file(COMPANY_FILE)["businessId"]
    connection = Connection.objects.create(
        org=clearwater,
        provider=Provider.MYOB,
        name="MYOB",
        base_url=settings.MYOB_EMULATOR_URL,
        tenant_id=business_id,
        settings={"rate_limits": UNLIMITED},
    )
    token = myob_emulator.connect(business_id)
    integration_services.connection_credentials_save(
        connection=connection,
        credentials=OAuthCredentials(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            expires_at=datetime.datetime.now(datetime.UTC)
            + datetime.timedelta(seconds=int(token["expires_in"])),
        ),
    )
    return connection


def test_clearwater_mapped_by_name_pushes_every_bill_and_payment(
    clearwater_on_myob, myob_emulator, drain
):
    connection = clearwater_on_myob
    clearwater = connection.org
    # What the Mappings page offers and saves, picked by name as the README says.
    choices = integration_selectors.connection_ledger_choices(connection=connection)
    accounts = {account.name: account.external_id for account in choices.bookable_accounts}
    jobs = {
        o.option_name.split(" ", 1)[1]: o.option_id
        for o in choices.tracking_options
        if o.category_name == "Job"
    }
    suppliers = {contact.name: contact.external_id for contact in choices.contacts}
    [bank] = [a.code for a in choices.bank_accounts if a.name == "Business Bank Account"]
    integration_services.mappings_save(
        connection=connection,
        choices=choices,
        accounts={
            category.pk: accounts[category.name]
            for category in Category.objects.for_org(clearwater)
        },
        tracking={
            department.pk: jobs[department.name]
            for department in Department.objects.for_org(clearwater)
        },
        contacts={
            contact.pk: suppliers[contact.name] for contact in Contact.objects.for_org(clearwater)
        },
        payment_account_code=bank,
    )

    admin = clearwater.memberships.get(user__username="clearwater").user
    run = services.force_sync(org=clearwater, connection=connection, actor=admin)
    drain(rounds=60)

    records = SyncRecord.objects.filter(connection=connection)
    assert run.total > 0
    assert not records.exclude(status=RecordStatus.COMPLETE).exists(), [
        (r.entry_type, r.last_error_message) for r in records.exclude(status=RecordStatus.COMPLETE)
    ]
    in_ledger = Document.objects.for_org(clearwater).filter(
        kind=DocumentKind.BILL, status__in=[DocumentStatus.APPROVED, DocumentStatus.PAID]
    )
    bills = myob_emulator.records("Purchase/Bill/Service", connection.tenant_id)
    assert sorted(b["SupplierInvoiceNumber"] for b in bills) == sorted(d.number for d in in_ledger)
    payments = myob_emulator.records("Purchase/SupplierPayment", connection.tenant_id)
    assert len(payments) == Payment.objects.for_org(clearwater).count() > 0
    # The other company file (the seeded one) got nothing.
    assert myob_emulator.records("Purchase/Bill/Service") == []
