"""Helpers of the reconcile tests (tests/synclog/test_reconcile*.py)."""

import time

from integrations.models import Provider
from synclog import services

RECONCILED = [Provider.XERO, Provider.QUICKBOOKS, Provider.MYOB]


def calls_since(ledger, start: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in ledger.state()["requests"][start:]]


def reconcile(connection, *, deadline: float = 10.0):
    """A reconcile that ran: one sent back for quota (MYOB's 8 requests a second, shared with
    the pushes just made) is run again after the wait it was given, within a deadline."""
    give_up = time.monotonic() + deadline
    while True:
        result = services.connection_reconcile(connection_id=connection.pk)
        if result.wait is None or time.monotonic() + result.wait > give_up:
            return result
        time.sleep(result.wait)


def delete_in_ledger(ledger_books, external_id: str) -> None:
    if ledger_books.provider == Provider.XERO:
        ledger_books.emulator.void_invoice(external_id)
    elif ledger_books.provider == Provider.QUICKBOOKS:
        ledger_books.emulator.delete_entity("Bill", external_id)
    else:
        ledger_books.emulator.delete(external_id)


def delete_payment_in_ledger(ledger_books, external_id: str) -> None:
    if ledger_books.provider == Provider.XERO:
        ledger_books.emulator.delete_payment(external_id)
    elif ledger_books.provider == Provider.QUICKBOOKS:
        ledger_books.emulator.delete_entity("BillPayment", external_id)
    else:
        ledger_books.emulator.delete(external_id)
