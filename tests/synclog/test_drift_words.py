"""How a drift finding words an entry the ledger no longer lets anyone change."""

from decimal import Decimal

from integrations.connectors.types import EntryState
from synclog.services.drift import _changed_error


def state(**overrides) -> EntryState:
    values = dict(
        external_id="inv-1",
        number="B-1",
        status="AUTHORISED",
        total=Decimal("100.00"),
        amount_due=Decimal("100.00"),
        amount_paid=Decimal("0"),
        booked=False,
    )
    return EntryState(**{**values, **overrides})


def test_a_partly_paid_entry_is_said_to_have_a_payment_not_to_be_authorised():
    partly_paid = state(amount_due=Decimal("60.00"), amount_paid=Decimal("40.00"), booked=True)
    words = _changed_error("Xero", partly_paid, ["due date 2027-04-30 there"]).explanation
    assert "holds it with 40.00 paid against it now, so it takes no change" in words
    assert "AUTHORISED" not in words


def test_a_paid_entry_is_named_by_the_ledger_s_word_and_an_open_one_says_nothing_of_it():
    paid = state(status="PAID", amount_due=Decimal("0"), amount_paid=Decimal("100.00"), booked=True)
    words = _changed_error("Xero", paid, ["due date 2027-04-30 there"]).explanation
    assert "holds it as PAID now, so it takes no change" in words
    open_entry = _changed_error("Xero", state(), ["due date 2027-04-30 there"]).explanation
    assert "takes no change" not in open_entry
