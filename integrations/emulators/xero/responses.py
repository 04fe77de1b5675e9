"""Werkzeug responses in Xero's shapes."""

from werkzeug.wrappers import Response

from . import wire

JSON = "application/json; charset=utf-8"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(wire.dumps(body), status=status, headers=headers, content_type=JSON)


def unauthorized(detail: str = "AuthenticationUnsuccessful", *, expired=False) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if expired else None
    return json_response(wire.problem(401, "Unauthorized", detail), 401, headers)


def forbidden() -> Response:
    return json_response(wire.problem(403, "Forbidden", "AuthorizationUnsuccessful"), 403)


def not_found(detail: str = "The resource you're looking for cannot be found") -> Response:
    return json_response(wire.problem(404, "Not Found", detail), 404)


def validation_failed(messages: list[str], submitted=None, *, id_field=None, strict=False):
    element = wire.error_element(submitted, messages, id_field=id_field, strict=strict)
    return json_response(wire.validation_error([element]), 400)


def post_data_invalid(message: str) -> Response:
    return json_response(wire.exception(14, "PostDataInvalidException", message), 400)


def query_invalid(message: str) -> Response:
    return json_response(wire.exception(16, "QueryParseException", message), 400)


def rate_limited(headers: dict[str, str]) -> Response:
    # Xero answers 429 with a short plain body; the headers carry the information.
    return Response("Rate limit exceeded", status=429, headers=headers, content_type="text/plain")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def injected_failure(status: int) -> Response:
    """The answer to a fault injected with `fail_next` / `error_rate`."""
    if status == 400:
        return validation_failed(["The emulator was told to fail this call"])
    if status == 401:
        return unauthorized()
    if status == 403:
        return forbidden()
    if status == 503:
        detail = "The Xero API is temporarily unavailable. Please try again later."
    else:
        detail = "An unexpected error occurred in the Xero API. Please try again later."
    return json_response(wire.problem(status, _TITLES.get(status, "Error"), detail), status)
