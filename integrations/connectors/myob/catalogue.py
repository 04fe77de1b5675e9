"""What MYOB's errors mean for AP staff, and how to fix them.

MYOB answers a refused call with `{"Errors": [{"Name", "Message", "AdditionalDetails",
"ErrorCode", "Severity"}]}` (integrations/specs/myob/NOTES.md, "Errors"). Each entry matches an
error `Name` (and, where one name means several things, the words of its Message) and names the
error class (which decides retry and "booked" handling), a plain explanation and a fix hint. The
raw body is always kept beside them.
"""

import datetime

from integrations.connectors.catalogue import Catalogue, entry
from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConfigurationError,
    ConnectorError,
    DataProcessingError,
    DuplicateError,
    LedgerValidationError,
    NotFoundError,
    PeriodLockedError,
    RateLimitedError,
    TransientError,
)

RECONNECT_HINT = "An admin must reconnect MYOB: Integrations › the MYOB connection › Reconnect."


ENTRIES = (
    entry(
        {"InactiveCard"},
        None,
        LedgerValidationError,
        "The supplier (or customer) card is inactive in MYOB, and MYOB takes no new bills or "
        "payments for an inactive card.",
        "In MYOB, open the card (Contacts) and untick Inactive, or map the vendor to another "
        "MYOB supplier (Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"NotFound"},
        r"supplier|customer|card",
        LedgerValidationError,
        "The supplier (or customer) this document is mapped to no longer exists in this MYOB "
        "company file (deleted, or the mapping points at another company file).",
        "Map the vendor to an existing MYOB supplier (Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"NotFound"},
        r"taxcode|tax code",
        LedgerValidationError,
        "The tax code on a line does not exist in this MYOB company file.",
        "Choose a tax code MYOB has (Integrations › Mappings, or the line's tax rate), then "
        "re-sync.",
    ),
    entry(
        {"NotFound"},
        r"account",
        LedgerValidationError,
        "An account the document posts to does not exist in this MYOB company file.",
        "Map the category to an existing MYOB account (Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"NotFound"},
        None,
        LedgerValidationError,
        "Something the document refers to (a job, category or transaction) is not in this MYOB "
        "company file.",
        "Map departments and categories to existing MYOB jobs and categories, then re-sync.",
    ),
    entry(
        {"Line_AccountHeaderNotAllowed"},
        None,
        LedgerValidationError,
        "The account a category is mapped to is a header account in MYOB: header accounts only "
        "group others and cannot take a posting.",
        "Map the category to a detail (posting) account under that header (Integrations › "
        "Mappings), then re-sync.",
    ),
    entry(
        {"Line_JobHeaderNotAllowed"},
        None,
        LedgerValidationError,
        "The job a department is mapped to is a header job in MYOB, which takes no lines.",
        "Map the department to a detail job (Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"InactiveAccount"},
        None,
        LedgerValidationError,
        "The account a category is mapped to is inactive in MYOB.",
        "Make the account active again in MYOB (Accounts list › the account › untick "
        "Inactive), or map the category to an active account, then re-sync.",
    ),
    entry(
        {"AccountNotValid"},
        None,
        LedgerValidationError,
        "Payments can only be made from a Bank or Credit Card account in MYOB, and the account "
        "chosen to pay bills from is neither.",
        "Choose a bank or credit card account under Pay bills from (Integrations › Mappings), "
        "then re-sync.",
    ),
    entry(
        {"TaxCodeInvalid", "InvalidTaxCode"},
        None,
        LedgerValidationError,
        "MYOB does not accept the tax code on a line for this kind of transaction.",
        "Choose another tax code for the line (or its category's mapping), then re-sync.",
    ),
    entry(
        {"BusinessEvent_DateOccured_InLockPeriod", "DatePriorToBeginningOfFinancialYear"},
        None,
        PeriodLockedError,
        "The document's date falls in a period that is closed (locked) in MYOB, so MYOB refuses "
        "entries and changes dated then.",
        "Ask your accountant to unlock the period in MYOB (Setup › Preferences › Lock periods), "
        "or change the document date, then re-sync.",
    ),
    entry(
        {"TransactionHasPayments"},
        None,
        BookedError,
        "The bill is already (partly) paid in MYOB: MYOB neither changes a bill with payments "
        "applied nor deletes it (which is how ledgersync voids one there).",
        "If the change or the void must reach MYOB, delete the payment there first, then "
        "re-sync; otherwise mark this record Complete.",
    ),
    entry(
        {"TransactionsCannotBeDeleted"},
        None,
        BookedError,
        "This MYOB company file does not let transactions be deleted (they must be reversed), "
        "so a voided document cannot be removed there.",
        "Reverse the bill in MYOB by hand, then mark this record Complete.",
    ),
    entry(
        {"IncorrectRowVersion", "ConcurrencyError"},
        None,
        TransientError,
        "Someone changed the entry in MYOB while ledgersync was updating it (RowVersion "
        "conflict), and ledgersync's retry met another change.",
        "Nothing to do: ledgersync reads the entry again and retries automatically.",
    ),
    entry(
        {"CompanyFileLocked", "CompanyFileOffline"},
        None,
        TransientError,
        "The MYOB company file is locked or offline (it is being upgraded, or someone has it "
        "open exclusively), so MYOB answers nothing for it right now.",
        "Nothing to do if it is temporary: ledgersync retries automatically. If it lasts, ask "
        "whoever has the file open in AccountRight to close it.",
    ),
    entry(
        {"RateLimitError"},
        r"daily",
        RateLimitedError,
        "ledgersync reached MYOB's daily limit of 1,000,000 calls, which all organisations "
        "connected to MYOB share.",
        "Nothing to do: ledgersync waits for the new day and pushes the rest then.",
    ),
    entry(
        {"RateLimitError"},
        None,
        RateLimitedError,
        "MYOB's limit of 8 calls a second, shared by every organisation connected to MYOB, was "
        "reached.",
        "Nothing to do: ledgersync waits and retries automatically.",
    ),
    entry(
        {"DuplicateNumber"},
        None,
        DuplicateError,
        "MYOB already has a transaction with this number in this company file.",
        "Look the entry up in MYOB: if it is this document, mark this record Complete; if it "
        "is another, change this document's number, then re-sync.",
    ),
    entry(
        {"AmountAppliedExceedsBalance"},
        None,
        LedgerValidationError,
        "MYOB says the payment is larger than what is still owing on the bill there: a payment "
        "may already be recorded in MYOB.",
        "Compare the bill's payments in MYOB with ours; delete the extra one there, or mark this "
        "record Complete if MYOB is already right.",
    ),
    entry(
        {"ResourceNotFound"},
        None,
        NotFoundError,
        "The entry no longer exists in MYOB (it may have been deleted there).",
        "Check MYOB; re-sync to create the entry again, or mark this record Complete.",
    ),
    entry(
        {"OAuthTokenIsInvalid", "invalid_grant", "invalid_client", "AccessDenied"},
        None,
        AuthError,
        "MYOB no longer accepts ledgersync's access to this company file (the consent was "
        "withdrawn, the token expired, or the user lost administrator access).",
        RECONNECT_HINT,
    ),
    entry(
        {"DeveloperInactive"},
        None,
        ConfigurationError,
        "MYOB refused ledgersync's API key (it is missing, inactive or wrong).",
        "The operator checks MYOB_CLIENT_ID (the API key) and MYOB_CLIENT_SECRET; nothing to "
        "change in the document.",
    ),
    entry(
        {"SerializationError", "Required", "InvalidQuery", "StringTooLong", "InvalidVersion"},
        None,
        DataProcessingError,
        "ledgersync sent MYOB something it does not take (a field or value it does not know): a "
        "fault on our side.",
        "Report this to support with the raw message below; retrying will not help.",
    ),
)

DEFAULT_EXPLANATION = "MYOB rejected the data: {message}"
DEFAULT_HINT = "Correct the document or its mappings as MYOB's message says, then re-sync."


CATALOGUE = Catalogue(ENTRIES, DEFAULT_EXPLANATION, DEFAULT_HINT)
# (error class or None when unknown, explanation, hint) for an error's Name and words.
explain = CATALOGUE.explain


PER_SECOND_RETRY = 1.0


def _seconds_to_next_utc_day() -> float:
    now = datetime.datetime.now(datetime.UTC)
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (tomorrow - now).total_seconds())


def classified(errors: list[dict], *, raw: str, http_status: int | None) -> ConnectorError:
    """Our error for MYOB's first error, with the catalogue's words; `myob_name` keeps MYOB's
    Name for the callers that act on one (a stale RowVersion)."""
    first = errors[0] if errors else {}
    name = str(first.get("Name") or "")
    message = str(first.get("Message") or "MYOB refused the request")
    error_class, explanation, hint = explain(name, message)
    error_class = error_class or LedgerValidationError
    kwargs = {"raw": raw, "http_status": http_status, "explanation": explanation, "hint": hint}
    if error_class is RateLimitedError:
        daily = "daily" in message.lower()
        retry_after = _seconds_to_next_utc_day() if daily else PER_SECOND_RETRY
        error = RateLimitedError(
            f"MYOB: {message}",
            retry_after=retry_after,
            problem="day" if daily else "second",
            **kwargs,
        )
    else:
        code = first.get("ErrorCode")
        error = error_class(
            f"MYOB: {message} ({name}{f' {code}' if code is not None else ''})", **kwargs
        )
    error.myob_name = name
    return error
