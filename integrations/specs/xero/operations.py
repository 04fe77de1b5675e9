"""A request to, and an answer from, one operation of Xero's specs, checked with openapi-core
against the strict document (``strict.get_spec``), plus the checks the spec leaves out (Bearer
auth, undeclared query parameters, a body where none is declared, raw attachment bytes).

Statuses an operation does not declare: 2xx/3xx are violations; 4xx/5xx are checked for shape only
(400/401/403 must be a JSON object - Xero documents JSON bodies for them; any other status must
parse if it claims to be JSON; 429 must carry ``Retry-After``). The spec gives no schema for them,
so anything stricter would be invented rather than derived from it.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import httpx
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from integrations.specs.contract import Problem, is_json_media, media_type, schema_problems
from integrations.specs.xero.strict import OCTET_STREAM, XeroSpec, deref

SPEC_HOST = "https://api.xero.com"  # both specs' servers live on this host
# Media types that mean "structured", i.e. a bug when sent to a raw-bytes attachment endpoint.
_NON_BINARY_MEDIA = re.compile(r"^(application/(json|.*\+json|x-www-form-urlencoded)|multipart/)")


class OpenAPIRequest:
    def __init__(
        self, request: httpx.Request, spec_path: str, body: bytes | None, content_type: str
    ) -> None:
        self.host_url = SPEC_HOST
        self.path = spec_path
        self.method = request.method.lower()
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )


class OpenAPIResponse:
    def __init__(self, response: httpx.Response, body: bytes, content_type: str) -> None:
        self.status_code = response.status_code
        self.headers = Headers(response.headers.multi_items())
        self.content_type = content_type
        self.data = body


def _openapi_error_problems(side: str, error: Exception) -> list[Problem]:
    """Map an openapi-core error (request or response side) to problems."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    name = getattr(error, "name", None)
    location = getattr(error, "location", None)
    if name is not None:  # parameter / header problems
        where = f"{side} {location or 'header'}"
        if schema_errors:
            return [
                Problem(where, name, f"{p.reason}" + (f" at {p.field}" if p.field != "$" else ""))
                for se in schema_errors
                for p in schema_problems(where, se)
            ]
        kind = type(error).__name__
        if kind.startswith("Missing"):
            return [Problem(where, name, "required by the spec, missing")]
        return [Problem(where, name, str(cause or error))]
    where = f"{side} body"
    if type(error).__name__.startswith("Missing"):
        return [Problem(where, "", "required by the spec, missing")]
    if schema_errors:
        return [p for se in schema_errors for p in schema_problems(where, se)]
    if type(cause).__name__ == "MediaTypeNotFound":
        available = ", ".join(getattr(cause, "availableMimetypes", []) or [])
        return [
            Problem(where, "", f"content type {cause.mimetype!r} not declared (spec: {available})")
        ]
    if any("Deserialize" in type(e).__name__ for e in (error, cause)):
        return [Problem(where, "", "body does not parse as its declared content type (JSON)")]
    return [Problem(where, "", f"{type(error).__name__}: {cause or error}")]


def _operation(spec: XeroSpec, method: str, spec_path: str):
    found = spec.finder.find(method.lower(), SPEC_HOST + spec_path)
    path_key = found.path.parts[1]
    path_item = spec.document["paths"][path_key]
    return path_key, path_item, path_item[method.lower()]


def _declared_parameters(doc, path_item, op) -> list[dict[str, Any]]:
    return [deref(doc, p) for p in path_item.get("parameters", []) + op.get("parameters", [])]


def _check_request_extras(spec: XeroSpec, request: httpx.Request, path_item, op) -> list[Problem]:
    doc = spec.document
    problems: list[Problem] = []
    security = op.get("security", doc.get("security"))
    if security and any("OAuth2" in req for req in security):
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            problems.append(
                Problem(
                    "request header", "Authorization", "OAuth2 operation needs 'Bearer <token>'"
                )
            )
    declared = {p["name"] for p in _declared_parameters(doc, path_item, op) if p["in"] == "query"}
    for key in dict.fromkeys(request.url.params.keys()):
        if key not in declared:
            allowed = ", ".join(sorted(declared)) or "none"
            problems.append(
                Problem("request query", key, f"parameter not declared (declared: {allowed})")
            )
    if "requestBody" not in op and request.content:
        problems.append(Problem("request body", "", "operation declares no request body"))
    return problems


def _binary_only(content: dict[str, Any]) -> bool:
    return bool(content) and set(content) == {OCTET_STREAM}


def _check_binary_body(where: str, media: str) -> list[Problem]:
    # An empty body is left to openapi-core, which reports a missing required body.
    if _NON_BINARY_MEDIA.match(media):
        return [Problem(where, "", f"raw file bytes expected, got content type {media!r}")]
    return []


def check_spec_request(spec: XeroSpec, request: httpx.Request, spec_path: str):
    _, path_item, op = _operation(spec, request.method, spec_path)
    problems = _check_request_extras(spec, request, path_item, op)
    media = media_type(request.headers.get("content-type"))
    content_type = request.headers.get("content-type", "")
    body: bytes | None = request.content or None
    declared = op.get("requestBody", {}).get("content", {})
    if _binary_only(declared) and body is not None:
        problems += _check_binary_body("request body", media)
        content_type = OCTET_STREAM  # any file mime type is fine; openapi-core knows only this one
    with warnings.catch_warnings():
        # openapi-core cannot evaluate OAuth2 and warns; the Bearer check above covers it.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        oa_request = OpenAPIRequest(request, spec_path, body, content_type)
        for error in spec.openapi.iter_request_errors(oa_request):
            problems += _openapi_error_problems("request", error)
    return op, oa_request, problems


def check_undeclared_status(response: httpx.Response) -> list[Problem]:
    status = response.status_code
    body = response.content
    media = media_type(response.headers.get("content-type"))
    where = f"response {status}"
    if status < 400:
        return [Problem("response status", str(status), "status not declared for this operation")]
    problems: list[Problem] = []
    if status in (400, 401, 403):
        # Xero documents JSON bodies for these (ValidationException / auth problem details).
        if not is_json_media(media):
            problems.append(Problem(where, "Content-Type", f"JSON expected, got {media!r}"))
        try:
            if not isinstance(json.loads(body or b"null"), dict):
                problems.append(Problem(where, "$", "JSON object expected"))
        except ValueError:
            problems.append(Problem(where, "$", "body is not valid JSON"))
    elif body and is_json_media(media):
        try:
            json.loads(body)
        except ValueError:
            problems.append(Problem(where, "$", "claims JSON but does not parse"))
    if status == 429:
        retry_after = response.headers.get("retry-after", "")
        if not retry_after.isdigit():
            problems.append(
                Problem(where, "Retry-After", f"seconds expected (Xero docs), got {retry_after!r}")
            )
    return problems


def check_spec_response(
    spec: XeroSpec, op: dict[str, Any], oa_request: OpenAPIRequest, response: httpx.Response
) -> list[Problem]:
    responses = op.get("responses", {})
    status = str(response.status_code)
    body = response.content
    if status not in responses and "default" not in responses:
        return check_undeclared_status(response)
    content_type = response.headers.get("content-type", "")
    declared = deref(spec.document, responses.get(status, responses.get("default"))).get(
        "content", {}
    )
    problems: list[Problem] = []
    if _binary_only(declared) and body:
        problems += _check_binary_body("response body", media_type(content_type))
        content_type = OCTET_STREAM
    for error in spec.openapi.iter_response_errors(
        oa_request, OpenAPIResponse(response, body, content_type)
    ):
        problems += _openapi_error_problems("response", error)
    return problems


# Xero's documented token response (identity spec AccessToken + 'scope', which the spec omits).
