"""The connector error hierarchy. The class is the retry policy (synclog.services.ledger_call):
a TransientError is tried again later, an AuthError waits for a reconnect, any other fails.

Every error carries the ledger's raw words beside our explanation and fix hint, and the status code
(DESIGN §5) an attempt that ends with it is recorded under.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One error the ledger reported about one field or element of what we sent."""

    message: str
    field: str = ""


class ConnectorError(Exception):
    status_code = 5130

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        http_status: int | None = None,
        field_errors: tuple[FieldError, ...] = (),
        explanation: str = "",
        hint: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.raw = raw
        self.http_status = http_status
        self.field_errors = tuple(field_errors)
        self.explanation = explanation
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class TransientError(ConnectorError):
    """Timeout, connection error, 5xx: try again later."""

    status_code = 5000


class RateLimitedError(TransientError):
    def __init__(self, message: str, *, retry_after: float, problem: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.problem = problem


class UnknownOutcomeError(TransientError):
    """A write whose answer never came: the ledger may have made the entry. Search first."""


class AuthError(ConnectorError):
    """The token cannot be refreshed, or access was revoked: the user must reconnect."""

    status_code = 4220


class OrganisationGoneError(AuthError):
    """The ledger organisation was deleted, or disconnected from us in the ledger: no
    connection to it is left. Like any refused access, its records wait for a reconnect."""

    status_code = 4040


class PermanentError(ConnectorError):
    """The ledger will refuse this again until someone changes something."""


class SubscriptionError(PermanentError):
    """The organisation is still connected but no longer active in the ledger: its
    subscription or free trial ended. Nothing is pushed until it is renewed."""

    status_code = 4260


class DataProcessingError(PermanentError):
    """Our side: the entry could not be built from the document, or failed our own checks
    before anything was sent (DESIGN §5: 5120)."""

    status_code = 5120


class LedgerValidationError(PermanentError):
    status_code = 5130


class BookedError(PermanentError):
    """The entry is paid, voided or in a locked period: it cannot be changed."""

    status_code = 5130


class PeriodLockedError(BookedError):
    """The ledger refused a write dated in its locked (closed) period: its lock date is newer
    than the one we know, so the engine reads it again."""


class HeldForLockError(BookedError):
    """Ours, not the ledger's: a push dated on or before the ledger's known lock date, held
    (not sent) until the lock moves (synclog.services.locks)."""


class EntryGoneError(BookedError):
    """The entry was voided or deleted in the ledger: it takes no change and no payment, and
    only a new entry (after the user confirms) or a reconcile by hand gets past it."""


class DuplicateError(PermanentError):
    status_code = 5080


class NotFoundError(PermanentError):
    status_code = 5130


class ConfigurationError(PermanentError):
    """Our side is not set up: a missing mapping or setting. Names what to map."""

    status_code = 4000

    def __init__(self, message: str, *, missing_mapping: dict | None = None, **kwargs):
        super().__init__(message, **kwargs)
        # Machine-readable: {"kind", "local_id", "name"} of what to map (the API shows it).
        self.missing_mapping = missing_mapping
