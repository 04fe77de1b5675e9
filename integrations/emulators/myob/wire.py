"""MYOB's JSON: money as numbers, error bodies, answers."""

import json
from decimal import Decimal

from werkzeug.wrappers import Request, Response

from .company import MyobError, error_body

JSON = "application/json; charset=utf-8"


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, default=_default), status, headers, content_type=JSON)


def error_response(
    status: int, name: str, message: str, code: int | None = None, details: str = "", headers=None
) -> Response:
    return json_response(error_body(name, message, code, details), status, headers)


def request_json(request: Request):
    """The request's JSON body; a body that is not JSON is refused as MYOB refuses it."""
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError as error:
        raise MyobError(400, "SerializationError", f"The body is not JSON: {error}", 50) from None
