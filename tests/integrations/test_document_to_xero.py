"""From our document to Xero: payload through the mappings, then the adapter, as a shell would."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents import services as document_services
from integrations import services
from integrations.connectors.types import EntryKind
from integrations.models import MappingKind
from integrations.payloads import build_entry_payload, build_payment_payload
from integrations.selectors import mapping_index
from tests.factories import CategoryFactory, DepartmentFactory, DocumentFactory
from tests.ledger_fixtures import XeroBooks


@pytest.fixture
def connected(org, ledger):
    return XeroBooks(ledger).connect_org(org)


def test_a_bill_and_its_payment_reach_xero(
    connected, org, clerk, xero_emulator, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    category = CategoryFactory(org=org, name="Travel", code="493")
    services.mappings_auto_map_accounts(
        connection=connected, accounts=services.connector_for(connected).list_accounts()
    )
    sales = DepartmentFactory(org=org, name="Sales")
    option = next(
        o
        for o in services.connector_for(connected).list_tracking_options()
        if o.option_name == "Sales"
    )
    services.mapping_set(
        connection=connected,
        kind=MappingKind.TRACKING,
        local_id=sales.pk,
        external_id=option.option_id,
        extra={"category_name": option.category_name, "option_name": option.option_name},
    )
    bill = DocumentFactory(org=org, category=category, department=sales, total=Decimal("240.00"))
    document_services.document_approve(document=bill, actor=clerk)
    payment = document_services.payment_record(
        document=bill, actor=clerk, amount="90.00", paid_at=datetime.date(2026, 11, 12)
    )
    document_services.attachment_add(
        document=bill,
        actor=clerk,
        upload=SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf"),
    )

    connector = services.connector_for(connected)
    payload = build_entry_payload(
        bill, connection=connected, mappings=mapping_index(connection=connected)
    )
    entry = connector.create_entry(payload, idempotency_key=f"{payload.reference}-v1")
    connector.create_payment(
        build_payment_payload(payment, connection=connected, entry_external_id=entry.external_id),
        idempotency_key=f"{payload.reference}-p{payment.pk}",
    )
    attachment = bill.attachments.get()
    connector.attach_file(
        kind=EntryKind.BILL,
        external_id=entry.external_id,
        filename=attachment.filename,
        content=attachment.file.read(),
        content_type=attachment.content_type,
    )

    stored = xero_emulator.invoice(entry.external_id)
    assert stored["Type"] == "ACCPAY"
    assert stored["InvoiceNumber"] == bill.number
    assert stored["Contact"]["Name"] == bill.contact.name
    assert stored["Total"] == 240.0 and stored["AmountDue"] == 150.0
    assert stored["LineItems"][0]["AccountCode"] == "493"
    assert stored["LineItems"][0]["Tracking"][0]["Option"] == "Sales"
    assert stored["HasAttachments"] is True
    assert stored["Url"].endswith(f"?ref={payload.reference}")
