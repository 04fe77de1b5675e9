"""MYOB's JSON: money as numbers, error bodies, answers."""

import json
from functools import partial

from werkzeug.wrappers import Request, Response

from ..common import wire as common_wire
from .company import MyobError, error_body

JSON = "application/json; charset=utf-8"


json_response = partial(common_wire.json_response, content_type=JSON)


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
