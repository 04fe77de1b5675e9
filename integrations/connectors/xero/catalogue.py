"""What Xero's errors mean for AP staff, and how to fix them.

Each entry matches the ledger's raw message and names the error class (which decides retry and
"booked" handling), a plain explanation and a fix hint. The raw message is always kept beside them.
"""

import re
from dataclasses import dataclass

from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConnectorError,
    FieldError,
    LedgerValidationError,
    NotFoundError,
    PeriodLockedError,
    RateLimitedError,
)

RECONNECT_HINT = "An admin must reconnect Xero: Integrations › the Xero connection › Reconnect."


@dataclass(frozen=True)
class CatalogueEntry:
    pattern: re.Pattern
    error_class: type[ConnectorError]
    explanation: str
    hint: str


def _entry(pattern: str, error_class, explanation: str, hint: str) -> CatalogueEntry:
    return CatalogueEntry(re.compile(pattern, re.IGNORECASE), error_class, explanation, hint)


CATALOGUE: tuple[CatalogueEntry, ...] = (
    _entry(
        r"Account code '(?P<code>[^']*)' is not a valid code",
        LedgerValidationError,
        "Xero has no active account with code {code}, so it cannot book the line there.",
        "Map the category that uses account {code} to an active Xero account "
        "(Integrations › Mappings), then re-sync.",
    ),
    _entry(
        r"archived",
        LedgerValidationError,
        "The contact is archived in Xero, and Xero takes no new bills or payments for archived "
        "contacts.",
        "Restore the contact in Xero (Contacts › Archived › Restore), or map the vendor to another "
        "Xero contact, then re-sync.",
    ),
    _entry(
        r"lock date",
        PeriodLockedError,
        "The document's date falls in a period that is locked in Xero, so Xero refuses changes "
        "dated then.",
        "Ask your accountant to move the lock date in Xero (Settings › Financial settings), or "
        "change the document date, then re-sync.",
    ),
    _entry(
        r"not of valid status for modification|cannot be edited",
        BookedError,
        "The entry is paid, voided or otherwise closed in Xero, so it can no longer be changed.",
        "If the change must reach Xero, remove the payment or void the entry in Xero and re-sync; "
        "otherwise check Xero and mark this record Complete.",
    ),
    _entry(
        r"exceeds the amount outstanding",
        LedgerValidationError,
        "Xero says the payment is larger than what is still due on the bill there: a payment may "
        "already be recorded in Xero.",
        "Compare the bill's payments in Xero with ours; delete the extra one in Xero, or mark this "
        "record Complete if Xero is already right.",
    ),
    _entry(
        r"only be made against Authorised|not of valid status for creating payment",
        LedgerValidationError,
        "The bill is not approved (authorised) in Xero, so Xero will not take a payment for it.",
        "Re-sync the bill entry first, then the payment entry.",
    ),
    _entry(
        r"does not match the sum of the line",
        LedgerValidationError,
        "The total does not equal the sum of the lines as Xero calculates it.",
        "Check the lines' quantities and amounts on the document, then re-sync.",
    ),
    _entry(
        r"tracking",
        LedgerValidationError,
        "The department's tracking option does not exist in Xero.",
        "Map the department to an existing Xero tracking option (Integrations › Mappings), then "
        "re-sync.",
    ),
    _entry(
        r"contact .*(not found|does not exist)|ContactID .* not valid",
        LedgerValidationError,
        "The vendor is mapped to a Xero contact that no longer exists.",
        "Map the vendor to an existing Xero contact (Integrations › Mappings), then re-sync.",
    ),
    _entry(
        r"invalid_grant|invalid_client|TokenExpired|AuthenticationUnsuccessful",
        AuthError,
        "Xero no longer accepts ledgersync's access to this organisation (revoked, expired or "
        "unused for 60 days).",
        RECONNECT_HINT,
    ),
    _entry(
        r"AuthorizationUnsuccessful|Forbidden",
        AuthError,
        "Xero refused access to this organisation: it was disconnected from ledgersync in Xero, or "
        "the user who connected it lost access.",
        RECONNECT_HINT,
    ),
    _entry(
        r"rate limit|too many requests",
        RateLimitedError,
        "Xero's limit for this organisation (60 calls a minute) was reached.",
        "Nothing to do: ledgersync waits and retries automatically.",
    ),
    _entry(
        r"not found",
        NotFoundError,
        "The entry no longer exists in Xero (it may have been deleted there).",
        "Check Xero; re-sync to create the entry again, or mark this record Complete.",
    ),
)

DEFAULT_EXPLANATION = "Xero rejected the data: {message}"
DEFAULT_HINT = "Correct the document or its mappings as Xero's message says, then re-sync."


def explain(message: str) -> tuple[type[ConnectorError] | None, str, str]:
    """(error class or None when unknown, explanation, hint) for a raw Xero message."""
    for entry in CATALOGUE:
        match = entry.pattern.search(message)
        if match:
            values = {key: value for key, value in match.groupdict().items() if value is not None}
            return (
                entry.error_class,
                entry.explanation.format(**values),
                entry.hint.format(**values),
            )
    return None, DEFAULT_EXPLANATION.format(message=message), DEFAULT_HINT


def validation_messages(body) -> list[str]:
    if not isinstance(body, dict):
        return []
    messages = [
        error.get("Message", "")
        for element in body.get("Elements", [])
        for error in element.get("ValidationErrors", [])
    ]
    return messages or ([body["Message"]] if body.get("Message") else [])


def classified(messages: list[str], *, raw: str, http_status: int | None = 400) -> ConnectorError:
    """The first message the catalogue knows decides the class; all are kept as field errors."""
    messages = [message for message in messages if message] or ["Xero rejected the request."]
    chosen_class, explanation, hint = None, "", ""
    for message in messages:
        error_class, explanation_text, hint_text = explain(message)
        if error_class is not None or not explanation:
            chosen_class, explanation, hint = error_class, explanation_text, hint_text
        if error_class is not None:
            break
    error_class = chosen_class or LedgerValidationError
    return error_class(
        "; ".join(messages),
        raw=raw,
        http_status=http_status,
        field_errors=tuple(FieldError(message=message) for message in messages),
        explanation=explanation,
        hint=hint,
    )
