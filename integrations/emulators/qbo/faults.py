"""What Intuit answers when it refuses: a Fault of Error items, and the refusals the books give
(each with Intuit's code and wording)."""

import datetime

from . import wire


class QboFault(Exception):
    """A write or read Intuit refuses: HTTP status, Fault type and its Error items."""

    def __init__(self, errors: list[dict], *, status=400, fault_type="ValidationFault"):
        super().__init__(errors[0]["Message"] if errors else fault_type)
        self.errors = errors
        self.status = status
        self.fault_type = fault_type


def fault(code, message, detail="", element="", **kwargs) -> QboFault:
    return QboFault([wire.error(code, message, detail, element)], **kwargs)


def missing(element: str) -> QboFault:
    return fault(
        2020,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid(element: str, detail: str) -> QboFault:
    return fault(2090, "Invalid Number" if "number" in detail else "Invalid value", detail, element)


def stale(entity: str) -> QboFault:
    return fault(
        5010,
        "Stale Object Error",
        "Stale Object Error : You and Emulated User were working on this at the same time. "
        "Emulated User finished before you did, so your work was not saved.",
    )


def object_not_found(entity: str, entity_id: str) -> QboFault:
    return fault(
        610,
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. Check the "
        f"fields with accounts. ({entity} {entity_id})",
    )


def closed_period(date: datetime.date) -> QboFault:
    return fault(
        6210,
        "Account Period Closed, cannot update through API",
        f"The account period has closed and the books are locked on or before {date}: "
        "transactions dated then cannot be added, changed or deleted",
    )


def business(detail: str) -> QboFault:
    return fault(
        6000,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )
