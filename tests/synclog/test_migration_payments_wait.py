"""Migration 0011: payments left Failed only because their bill had failed wait for it instead."""

import importlib

import pytest
from django.apps import apps

from documents.models import Payment
from synclog.models import EntryType, RecordStatus
from tests.factories import ConnectionFactory, DocumentFactory, SyncRecordFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("synclog.migrations.0011_payments_wait_for_their_bill")


def chain(org, connection, *, bill_status):
    document = DocumentFactory(org=org, status="paid")
    payment = Payment.objects.create(
        org=org, document=document, amount="10.00", paid_at="2026-11-05"
    )
    SyncRecordFactory(
        connection=connection,
        document=document,
        status=bill_status,
        last_error_code=4000 if bill_status == RecordStatus.FAILED else None,
        last_error_message="Category Travel has no Xero mapping."
        if bill_status == RecordStatus.FAILED
        else "",
    )
    return SyncRecordFactory(
        connection=connection,
        document=document,
        payment=payment,
        entry_type=EntryType.BILL_PAYMENT,
        status=RecordStatus.FAILED,
        last_error_code=5130,
        last_error_message=migration.OLD_MESSAGE,
    )


def test_payments_of_a_still_failed_bill_wait_for_it_the_others_stay(org):
    connection = ConnectionFactory(org=org)
    waiting = chain(org, connection, bill_status=RecordStatus.FAILED)
    fixed_since = chain(org, connection, bill_status=RecordStatus.COMPLETE)
    migration.payments_wait_for_their_bill(apps, None)
    waiting.refresh_from_db()
    fixed_since.refresh_from_db()
    assert waiting.waits_for_bill and waiting.last_error_code == 4000
    assert waiting.last_error_message == (
        "Waits for its bill entry, which failed: Category Travel has no Xero mapping."
    )
    assert (fixed_since.status, fixed_since.last_error_message) == (
        RecordStatus.FAILED,
        migration.OLD_MESSAGE,
    )
