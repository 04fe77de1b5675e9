"""QBO's JSON: the response envelope, its `time`, Fault bodies and amounts."""

import datetime
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from ..common import wire as common_wire

# Intuit stamps times in the company's zone (the sandbox's is Pacific).
COMPANY_ZONE = ZoneInfo("America/Los_Angeles")
JSON = "application/json;charset=UTF-8"


def timestamp(epoch: float) -> str:
    """`2026-11-24T09:17:31.892-08:00`, as Intuit writes `time` and MetaData."""
    moment = datetime.datetime.fromtimestamp(epoch, COMPANY_ZONE)
    return moment.isoformat(timespec="milliseconds")


json_response = partial(common_wire.json_response, content_type=JSON)


def error(code: str | int, message: str, detail: str = "", element: str = "") -> dict:
    item = {"Message": message, "Detail": detail or message, "code": str(code)}
    if element:
        item["element"] = element
    return item


def fault_body(errors: list[dict], fault_type: str, now: float) -> dict:
    return {"Fault": {"Error": errors, "type": fault_type}, "time": timestamp(now)}


def fault_response(status: int, errors: list[dict], fault_type: str, now: float, headers=None):
    return json_response(fault_body(errors, fault_type, now), status, headers)


def amount(value) -> Decimal:
    """A JSON number as money (two decimals); raises ValueError on anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError as exc:
        raise ValueError(value) from exc


def number(value: Decimal):
    """Money back out as JSON numbers (100.0, like Intuit)."""
    return float(value)


def parse_date(text) -> datetime.date:
    if not isinstance(text, str):
        raise ValueError(text)
    return datetime.date.fromisoformat(text[:10])
