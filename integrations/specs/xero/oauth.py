"""Xero's OAuth endpoints, which neither spec describes: the token request (a form, per
grant type, with client authentication) and its answer (Xero's documented token, or an RFC 6749
error), and the revocation request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema

from integrations.specs.contract import Problem, instance_problems, media_type, parse_json
from integrations.specs.xero.operations import check_undeclared_status

TOKEN_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["access_token", "expires_in", "token_type", "refresh_token", "scope"],
    "properties": {
        "access_token": {"type": "string", "minLength": 1},
        "expires_in": {"type": "integer", "minimum": 1},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "refresh_token": {"type": "string", "minLength": 1},
        "scope": {"type": "string"},
        "id_token": {"type": "string"},
    },
    "additionalProperties": False,
}
# RFC 6749 section 5.2 error body, e.g. {"error": "invalid_grant"}.
TOKEN_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "minLength": 1},
        "error_description": {"type": "string"},
        "error_uri": {"type": "string"},
    },
    "additionalProperties": False,
}
_GRANT_FIELDS = {
    "authorization_code": ("code", "redirect_uri"),
    "refresh_token": ("refresh_token",),
}


def _json_schema_problems(where: str, schema: dict[str, Any], body: bytes) -> list[Problem]:
    instance, bad = parse_json(body, where)
    return bad or instance_problems(where, jsonschema.Draft7Validator(schema), instance)


def _form(request: httpx.Request, problems: list[Problem]) -> dict[str, str]:
    media = media_type(request.headers.get("content-type"))
    if request.method != "POST":
        problems.append(Problem("request method", request.method, "POST expected"))
    if media != "application/x-www-form-urlencoded":
        problems.append(Problem("request header", "Content-Type", f"form expected, got {media!r}"))
    return dict(parse_qsl(request.content.decode("utf-8", "replace"), keep_blank_values=True))


def check_token_request(request: httpx.Request) -> list[Problem]:
    problems: list[Problem] = []
    form = _form(request, problems)
    grant = form.get("grant_type", "")
    if grant not in _GRANT_FIELDS:
        problems.append(Problem("request body", "grant_type", f"unsupported value {grant!r}"))
    for name in _GRANT_FIELDS.get(grant, ()):
        if not form.get(name):
            problems.append(Problem("request body", name, f"required for grant_type={grant}"))
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    if not basic and not form.get("client_id"):
        problems.append(
            Problem("request", "client auth", "Basic Authorization header or client_id needed")
        )
    return problems


def check_token_response(response: httpx.Response) -> list[Problem]:
    status = response.status_code
    if status == 200:
        return _json_schema_problems("response 200", TOKEN_RESPONSE_SCHEMA, response.content)
    if status in (400, 401):
        return _json_schema_problems(f"response {status}", TOKEN_ERROR_SCHEMA, response.content)
    return check_undeclared_status(response)


def check_revocation_request(request: httpx.Request) -> list[Problem]:
    problems: list[Problem] = []
    if not _form(request, problems).get("token"):
        problems.append(Problem("request body", "token", "required"))
    return problems
