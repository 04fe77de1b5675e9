"""What QuickBooks Online's faults mean for AP staff, and how to fix them.

Intuit answers a refused write with a Fault: Error items carrying a string `code`, a `Message`
and a `Detail`. Each entry here matches a code (and, where one code means several things, the
words of the Detail) and names the error class (which decides retry and "booked" handling), a
plain explanation and a fix hint. The raw Fault is always kept beside them.
"""

from integrations.connectors.catalogue import Catalogue, entry
from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConnectorError,
    DataProcessingError,
    DuplicateError,
    LedgerValidationError,
    NotFoundError,
    PeriodLockedError,
    RateLimitedError,
    SubscriptionError,
    TransientError,
)

RECONNECT_HINT = (
    "An admin must reconnect QuickBooks: Integrations › the QuickBooks connection › Reconnect."
)


ENTRIES = (
    entry(
        {"6140"},
        None,
        DuplicateError,
        "QuickBooks already has a bill with this number from this vendor (Duplicate Document "
        "Number), so it refused a second one.",
        "Look the bill up in QuickBooks: if it is this document, mark this record Complete; if "
        "it is another, change this document's number, then re-sync.",
    ),
    entry(
        {"5010"},
        None,
        TransientError,
        "Someone changed the entry in QuickBooks while ledgersync was updating it (Stale Object "
        "Error), and ledgersync's retry met another change.",
        "Nothing to do: ledgersync reads the entry again and retries automatically.",
    ),
    entry(
        {"6210"},
        None,
        PeriodLockedError,
        "The document's date falls on or before the closing date of the books in QuickBooks, so "
        "QuickBooks refuses entries and changes dated then.",
        "Ask your accountant to move the closing date (QuickBooks: Settings › Account and "
        "settings › Advanced › Close the books), or change the document date, then re-sync.",
    ),
    entry(
        {"610"},
        r"vendor",
        LedgerValidationError,
        "The vendor is inactive in QuickBooks (or was deleted there), and QuickBooks takes no "
        "new bills or payments for it.",
        "Make the vendor active again in QuickBooks (Expenses › Vendors › Include inactive › "
        "Make active), or map the vendor to another QuickBooks vendor, then re-sync.",
    ),
    entry(
        {"610"},
        r"inactive|account",
        LedgerValidationError,
        "An account (or another list entry) the document uses is inactive in QuickBooks.",
        "Make the account active again in QuickBooks (Chart of accounts › Include inactive), or "
        "map the category to an active account (Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"610"},
        None,
        NotFoundError,
        "The entry no longer exists in QuickBooks (it may have been deleted there).",
        "Check QuickBooks; re-sync to create the entry again, or mark this record Complete.",
    ),
    entry(
        {"2500"},
        None,
        LedgerValidationError,
        "The document refers to something QuickBooks does not have (a vendor, account, class or "
        "location that was deleted, or a mapping to another company).",
        "Map the vendor, categories and departments to existing QuickBooks entries "
        "(Integrations › Mappings), then re-sync.",
    ),
    entry(
        {"6190"},
        None,
        SubscriptionError,
        "The QuickBooks company's subscription or trial has ended, so it takes no new data.",
        "Renew the QuickBooks subscription, then retry the failed items.",
    ),
    entry(
        {"6240"},
        None,
        DuplicateError,
        "Another QuickBooks customer, vendor or employee already has this name.",
        "Map the vendor to the existing QuickBooks vendor (Integrations › Mappings), or rename "
        "one of them, then re-sync.",
    ),
    entry(
        {"2050"},
        r"DocNumber|21",
        LedgerValidationError,
        "The document number is longer than QuickBooks takes (21 characters).",
        "Shorten the document number, then re-sync.",
    ),
    entry(
        {"6000"},
        r"more than .* owed|exceed",
        LedgerValidationError,
        "QuickBooks says the payment is larger than what is still owed on the bill there: a "
        "payment may already be recorded in QuickBooks.",
        "Compare the bill's payments in QuickBooks with ours; delete the extra one there, or "
        "mark this record Complete if QuickBooks is already right.",
    ),
    entry(
        {"6000"},
        r"less than the payments",
        BookedError,
        "The bill is already (partly) paid in QuickBooks, and the change would bring its total "
        "below what was paid.",
        "Remove the payment in QuickBooks first if the change must reach it; otherwise mark this "
        "record Complete.",
    ),
    entry(
        {"3200", "invalid_grant", "invalid_client", "401"},
        None,
        AuthError,
        "QuickBooks no longer accepts ledgersync's access to this company (the connection was "
        "revoked, or its refresh token expired).",
        RECONNECT_HINT,
    ),
    entry(
        {"3100", "120", "403"},
        None,
        AuthError,
        "QuickBooks refused access to this company: the app was disconnected from it, or the "
        "user who connected it lost admin rights.",
        RECONNECT_HINT,
    ),
    entry(
        {"3001", "429"},
        None,
        RateLimitedError,
        "QuickBooks' limit for this company (500 requests a minute, 10 a second, 40 batches a "
        "minute) was reached.",
        "Nothing to do: ledgersync waits and retries automatically.",
    ),
    entry(
        {"2010", "4000", "2170", "2020", "500"},
        None,
        DataProcessingError,
        "ledgersync sent QuickBooks something it does not take (a field or value it does not "
        "know): a fault on our side.",
        "Report this to support with the raw message below; retrying will not help.",
    ),
)

DEFAULT_EXPLANATION = "QuickBooks rejected the data: {message}"
DEFAULT_HINT = "Correct the document or its mappings as QuickBooks' message says, then re-sync."


CATALOGUE = Catalogue(ENTRIES, DEFAULT_EXPLANATION, DEFAULT_HINT)
# (error class or None when unknown, explanation, hint) for a Fault's code and words.
explain = CATALOGUE.explain


DEFAULT_RETRY_AFTER = 60.0  # Intuit publishes no Retry-After: "wait 60 seconds"


def fault_errors(body) -> list[dict]:
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault") or {}
        errors = fault.get("Error") or fault.get("error") or []
        return [e for e in errors if isinstance(e, dict)]
    return []


def classified(errors: list[dict], *, raw: str, http_status: int | None) -> ConnectorError:
    """Our error for a Fault's first error, with the catalogue's words. `qbo_code` keeps
    Intuit's code for the callers that act on one (a stale SyncToken)."""
    first = errors[0] if errors else {}
    code = str(first.get("code", "") or "")
    message = first.get("Message") or first.get("message") or "QuickBooks refused the request"
    detail = first.get("Detail") or first.get("detail") or ""
    words = f"{message}: {detail}" if detail and detail != message else message
    error_class, explanation, hint = explain(code, words)
    error_class = error_class or LedgerValidationError
    kwargs = {"raw": raw, "http_status": http_status, "explanation": explanation, "hint": hint}
    if error_class is RateLimitedError:
        error = RateLimitedError(
            f"QuickBooks: {words}", retry_after=DEFAULT_RETRY_AFTER, problem="", **kwargs
        )
    else:
        error = error_class(f"QuickBooks: {words} (code {code})" if code else words, **kwargs)
    error.qbo_code = code
    return error
