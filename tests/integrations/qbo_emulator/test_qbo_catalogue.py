"""The QBO error catalogue explains Intuit's common faults to AP staff (code and words as Intuit
sends them) and picks the error class that decides retry and booked handling."""

import pytest

from integrations.connectors.errors import (
    AuthError,
    DuplicateError,
    LedgerValidationError,
    NotFoundError,
    PeriodLockedError,
    SubscriptionError,
    TransientError,
)
from integrations.connectors.qbo.catalogue import explain

INACTIVE = (
    "Object Not Found: Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts."
)


@pytest.mark.parametrize(
    ("code", "words", "error_class", "says"),
    [
        ("6140", "Duplicate Document Number Error", DuplicateError, "already has a bill"),
        ("5010", "Stale Object Error", TransientError, "changed the entry"),
        ("610", INACTIVE, LedgerValidationError, "account"),
        ("610", INACTIVE + " (Vendor 20)", LedgerValidationError, "vendor is inactive"),
        ("610", "Object Not Found", NotFoundError, "no longer exists"),
        (
            "6210",
            "Account Period Closed, cannot update through API",
            PeriodLockedError,
            "closing date",
        ),
        ("3200", "message=AuthenticationFailed; errorCode=003200", AuthError, "no longer accepts"),
        ("invalid_grant", "", AuthError, "refresh token expired"),
        ("6190", "Invalid Company Status", SubscriptionError, "subscription"),
    ],
)
def test_common_faults(code, words, error_class, says):
    found, explanation, hint = explain(code, words)
    assert found is error_class
    assert says in explanation
    assert hint


def test_an_unknown_fault_keeps_intuit_s_words():
    found, explanation, _ = explain("6999", "Something new")
    assert found is None and explanation == "QuickBooks rejected the data: Something new"
