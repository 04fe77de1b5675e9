"""Attachments and the ledger's lock date (issue 17): no ledger documents refusing a file on an
entry dated in its locked period (integrations/specs/*/NOTES.md, "Attachments and the lock
date"), so each emulator takes one there while it refuses a change of the entry itself; that
is the behaviour ledgersync's pushes are built on, held here per ledger."""

import pytest

from integrations.connectors.errors import PeriodLockedError
from integrations.connectors.types import EntryKind
from integrations.models import Provider
from integrations.services import connector_for
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import RECONCILED

PDF = b"%PDF-1.4 receipt"


def lock_the_bills_period(ledger_books, external_id: str) -> None:
    """The ledger's books locked up to and including the bill's date, as an accountant would."""
    emulator = ledger_books.emulator
    if ledger_books.provider == Provider.XERO:
        emulator.set_lock_date(lock_date=emulator.invoice(external_id)["DateString"][:10])
    elif ledger_books.provider == Provider.QUICKBOOKS:
        emulator.set_book_close_date(date=emulator.entity("Bill", external_id)["TxnDate"])
    else:
        emulator.set_lock_date(date=emulator.record(external_id)["Date"][:10])


@pytest.mark.parametrize("provider", RECONCILED)
def test_each_emulator_takes_a_file_on_an_entry_in_its_locked_period(
    provider, approved_bill, drain, connection, ledger_books
):
    drain()
    record = bill_record(approved_bill)
    lock_the_bills_period(ledger_books, record.external_id)
    connector = connector_for(connection)
    try:
        # A change of the entry itself is refused for the lock...
        with pytest.raises(PeriodLockedError):
            connector.update_entry(
                record.external_id,
                _payload_with_new_reference(record),
                idempotency_key=f"lock-{record.pk}",
            )
        # ...a file on it is not.
        attached = connector.attach_file(
            kind=EntryKind.BILL,
            external_id=record.external_id,
            filename="receipt.pdf",
            content=PDF,
            content_type="application/pdf",
        )
    finally:
        connector.close()
    assert attached is not None


def _payload_with_new_reference(record):
    import dataclasses

    from integrations.selectors import mapping_index
    from synclog.services.push import _build_payload

    payload = _build_payload(
        record.document,
        connection=record.connection,
        mappings=mapping_index(connection=record.connection),
    )
    return dataclasses.replace(payload, due_date=payload.due_date.replace(year=2027))
