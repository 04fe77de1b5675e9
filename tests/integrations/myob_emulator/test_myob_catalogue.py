"""The MYOB error catalogue: each error AP staff meet names our class, plain words and the fix."""

import pytest

from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConfigurationError,
    DataProcessingError,
    DuplicateError,
    LedgerValidationError,
    PeriodLockedError,
    RateLimitedError,
    TransientError,
)
from integrations.connectors.myob.catalogue import DEFAULT_HINT, explain


@pytest.mark.parametrize(
    ("name", "message", "error_class", "words", "fix"),
    [
        ("NotFound", "Supplier 1a2b was not found", LedgerValidationError, "supplier", "Map"),
        (
            "InactiveCard",
            "The supplier card X is inactive",
            LedgerValidationError,
            "inactive",
            "untick Inactive",
        ),
        (
            "Line_AccountHeaderNotAllowed",
            "",
            LedgerValidationError,
            "header account",
            "detail (posting) account",
        ),
        (
            "NotFound",
            "Lines[0].TaxCode x was not found",
            LedgerValidationError,
            "tax code",
            "tax code",
        ),
        ("BusinessEvent_DateOccured_InLockPeriod", "", PeriodLockedError, "locked", "unlock"),
        (
            "IncorrectRowVersion",
            "Incorrect RowVersion",
            TransientError,
            "RowVersion",
            "retries automatically",
        ),
        ("CompanyFileLocked", "", TransientError, "offline", "retries automatically"),
        (
            "RateLimitError",
            "API key has exceeded the daily rate limit",
            RateLimitedError,
            "daily limit",
            "new day",
        ),
        (
            "RateLimitError",
            "API key has exceeded the per-second rate limit",
            RateLimitedError,
            "8 calls a second",
            "waits",
        ),
        ("TransactionHasPayments", "", BookedError, "paid", "delete the payment"),
        ("DuplicateNumber", "", DuplicateError, "already has", "Complete"),
        ("OAuthTokenIsInvalid", "", AuthError, "no longer accepts", "reconnect"),
        ("DeveloperInactive", "", ConfigurationError, "API key", "MYOB_CLIENT_ID"),
        ("SerializationError", "", DataProcessingError, "our side", "support"),
    ],
)
def test_each_error_has_its_class_words_and_fix(name, message, error_class, words, fix):
    found_class, explanation, hint = explain(name, message)
    assert found_class is error_class
    assert words in explanation
    assert fix in hint


def test_an_unknown_error_keeps_myobs_words():
    found_class, explanation, hint = explain("SomethingNew", "Widget count must be even")
    assert found_class is None
    assert "Widget count must be even" in explanation and hint == DEFAULT_HINT
