"""OpenAPI helpers: the error shape, the standard error answers of every operation, and the
settings of the schema view (title, description a partner developer reads first)."""

import re

import django_filters
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import MAX_KEY_LENGTH


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_found, not_authenticated, "
        "authentication_failed, throttled, idempotency_key_reused, idempotency_key_in_use, …"
    )
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Dotted path into the request (e.g. `lines.0.unit_amount`, "
        "`items.3.lines.0.category`) → messages. Empty when no one field is at fault.",
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Validation error",
            value={
                "error": {
                    "code": "invalid",
                    "message": "Some fields are not valid; see `fields`.",
                    "fields": {
                        "lines.0.unit_amount": ["A valid number is required."],
                        "contact": ['Invalid pk "999" - object does not exist.'],
                    },
                }
            },
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "Not found",
            value={"error": {"code": "not_found", "message": "Not found.", "fields": {}}},
            response_only=True,
            status_codes=["404"],
        ),
        OpenApiExample(
            "No or bad API key",
            value={
                "error": {
                    "code": "authentication_failed",
                    "message": "Invalid or revoked API key.",
                    "fields": {},
                }
            },
            response_only=True,
            status_codes=["401"],
        ),
        OpenApiExample(
            "Rate limited",
            value={
                "error": {
                    "code": "throttled",
                    "message": "Request was throttled. Expected available in 12 seconds.",
                    "fields": {},
                }
            },
            response_only=True,
            status_codes=["429"],
        ),
    ]
)
class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_REQUEST = _error("Invalid input: `fields` names each field at fault by its dotted path.")
UNAUTHORIZED = _error("No API key, or an unknown or revoked one.")
NOT_FOUND = _error("No such object in your organisation (another organisation's ids, too).")
CONFLICT = _error(f"A request with the same {IDEMPOTENCY_HEADER} is still running: retry later.")
UNPROCESSABLE = _error(f"The {IDEMPOTENCY_HEADER} was used with a different request.")
THROTTLED = _error("Too many calls with this API key: wait for `Retry-After` seconds.")
UNSUPPORTED = _error("Unsupported media type: send JSON (or multipart for uploads).")
SERVER_ERROR = _error("Something failed on our side (code `server_error`): retry later.")

# What api.idempotency accepts: 1 to 255 printable ASCII characters.
IDEMPOTENCY_KEY_PATTERN = rf"^[ -~]{{1,{MAX_KEY_LENGTH}}}$"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": IDEMPOTENCY_KEY_PATTERN,
    },
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional, recommended. Retrying a POST with the same key and body within 24 "
    "hours replays the first answer instead of acting twice; the same key with another body "
    "answers 422; while the first request runs, 409. Up to 255 printable ASCII characters "
    "(a UUID is a good choice).",
)


_UNSET = object()


def api_schema(
    *,
    summary: str,
    responses: dict,
    description: str = "",
    request=_UNSET,
    parameters: list | None = None,
    tags: list[str] | None = None,
    lookup: bool = False,
    post: bool = False,
    operation_id: str | None = None,
    examples: list | None = None,
):
    """extend_schema with the errors every operation may answer.

    `lookup` adds 404 (an id in the path); `post` adds the Idempotency-Key header, 409, 422
    and 415.
    """
    all_responses = {
        **responses,
        401: UNAUTHORIZED,
        429: THROTTLED,
        500: SERVER_ERROR,
    }
    all_responses.setdefault(400, BAD_REQUEST)
    if lookup:
        all_responses.setdefault(404, NOT_FOUND)
    params = list(parameters or [])
    if post:
        params.append(IDEMPOTENCY_PARAMETER)
        all_responses.update({409: CONFLICT, 422: UNPROCESSABLE})
    if post or request not in (_UNSET, None):
        all_responses[415] = UNSUPPORTED
    kwargs = {
        "summary": summary,
        "description": description,
        "responses": all_responses,
        "parameters": params,
        "tags": tags,
        "examples": examples or [],
    }
    if request is not _UNSET:
        kwargs["request"] = request  # None: no body
    if operation_id:
        kwargs["operation_id"] = operation_id
    return extend_schema(**kwargs)


class OrgFilterExtension(DjangoFilterExtension):
    """The API's filters as django-filter's extension documents them, plus what the server
    enforces beyond the type: an id filter takes only the organisation's own ids."""

    target_class = "api.views.base.OrgFilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if isinstance(filter_field, django_filters.ModelChoiceFilter):
            for parameter in parameters:
                described = parameter.get("description") or field_name.replace("_", " ").title()
                parameter["description"] = (
                    f"{described}: the id of one of your organisation's objects; an unknown id "
                    "(or another organisation's) answers 400."
                )
        return parameters


# drf-spectacular's pattern for a DecimalField, ^-?\d{0,12}(?:\.\d{0,2})?$, also matches "",
# "-" and ".", which the server refuses: a number needs a digit.
_DECIMAL_PATTERN = re.compile(r"^\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$$")


def _decimal_pattern(pattern: str) -> str:
    match = _DECIMAL_PATTERN.match(pattern)
    if match is None:
        return pattern
    whole, places = match.groups()
    return rf"^-?(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"


def fix_decimal_patterns(result, generator, request, public):
    """Postprocessing hook: decimal strings documented as the server reads them."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("format") == "decimal" and isinstance(node.get("pattern"), str):
                node["pattern"] = _decimal_pattern(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result.get("components", {}))
    walk(result.get("paths", {}))
    return result


def add_retry_after_header(result, generator, request, public):
    """Postprocessing hook: every 429 (and 409) answer carries Retry-After, in seconds."""
    header = {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": "Seconds to wait before retrying.",
        }
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for code in ("429", "409"):
                response = operation.get("responses", {}).get(code)
                if response is not None:
                    response.setdefault("headers", {}).update(header)
    return result


ORG_PATH_PREFIX = "/api/v1/organizations/{org_id}/"


def drop_organization_path_copies(endpoints):
    """/api/v1/organizations/{org_id}/… repeats every endpoint for partner keys: documented once
    in the description, not as a second copy of each operation."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(ORG_PATH_PREFIX)]


API_DESCRIPTION = """
Push bills and expenses from your system, start syncs to your organisation's ledger (its
accounting system), follow them to the end and learn the outcome by signed webhooks.

## Authentication
Every call carries `Authorization: Bearer <API key>`. An admin of the organisation creates keys on
the API keys page (the key is shown once). A key acts for its organisation only: ids of another
organisation answer 404, like missing ones. No key, or an unknown or revoked one: 401.

## Partners
A partner serving many companies gets a partner key (`lsp_…`) from our staff. With it:
`POST /api/v1/partner/organizations` creates a company, `POST /api/v1/partner/organizations/{id}/
connect-links` gives a one-time link for the company's owner to sign in and connect the ledger,
`GET /api/v1/partner/connections` lists the companies' connections and their health. Every
endpoint below also answers at `/api/v1/organizations/{org_id}/…` (e.g.
`/api/v1/organizations/42/syncs`): with a partner key, for the companies it created or was
granted (any other id answers 404); an organisation's own key may use its own id there.

## Errors
Every error has one shape:
`{"error": {"code": "invalid", "message": "…", "fields": {"lines.0.unit_amount": ["…"]}}}`.
`fields` names each field at fault by its dotted path in your request.

## Conventions
- **Lists** are cursor-paginated, newest first: follow `next` until it is null
  (`page_size` 1 to 200, default 50). A filter given blank (`?status=`) is a 400: leave it out.
- **Bodies** are JSON (`Content-Type: application/json`; 415 otherwise), file uploads multipart.
- **Errors on our side** answer 500 in the same shape, code `server_error`.
- **Idempotency-Key** (optional, recommended) on every POST: retrying with the same key and body
  within 24 hours replays the first answer; the same key with another body answers 422, and 409
  while the first request is still running.
- **Rate limit**: each API key may make a number of calls a minute (600 by default); beyond it,
  429 with `Retry-After` seconds.

## The partner flow
1. `POST /api/v1/expense-datasets` with your expense transactions → `201 {"id": …}`. Each item
   becomes an approved expense document (and starts syncing at once, as any approved document).
2. `POST /api/v1/syncs` with `{"dataset_ids": [id]}` (and/or `document_ids`) → `202` with the
   sync's `id` and `status_code` 1000. You may keep pushing datasets while it runs.
3. Poll `GET /api/v1/syncs/{id}` until `status_code` leaves 1xxx (1010: running over ten
   minutes; 2000 success; 2040 nothing to push; 4xxx configuration; 5xxx failure).
4. `GET /api/v1/syncs/{id}/transactions` lists each item with its status and, when it failed,
   the ledger's message, what it means (`explanation`) and how to fix it (`hint`).
5. Fix the cause (e.g. a mapping, or `PATCH /api/v1/documents/{id}`), then
   `POST /api/v1/syncs/{id}/retry-failed` → a new sync of the failed items only.
6. Subscribe to `sync.completed`, `sync.failed` and `record.failed` with
   `POST /api/v1/webhook-endpoints`; deliveries are signed per the Standard Webhooks scheme
   (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
   id.timestamp.body>` with the endpoint's secret, shown once on creation).
"""

# The rest of the schema's settings are SPECTACULAR_SETTINGS (syncsvc/settings.py), where
# `manage.py check --deploy` sees them too; the description is written here, beside the hooks.
SCHEMA_SETTINGS = {"DESCRIPTION": API_DESCRIPTION.strip()}
