"""One error shape for the whole API, and the one handler that makes it (HackSoft style).

    {"error": {"code": "invalid", "message": "…", "fields": {"lines.0.unit_amount": ["…"]}}}

`fields` maps a dotted path into the request body (or a query parameter) to its messages; it is
empty when the error is not about one field. Django's ValidationError from the services keeps its
keys (the document services already use paths like "lines.0.unit_amount").
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

NON_FIELD = "non_field_errors"
SERVER_ERROR_MESSAGE = "Something failed on our side; it is logged. Retry later."

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error of ours with its own code and HTTP status (e.g. an Idempotency-Key conflict)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.fields = fields or {}
        self.headers = headers or {}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {dotted path: [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == NON_FIELD and prefix:
                path = prefix
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            flat[prefix or NON_FIELD] = [str(item) for item in detail]
        else:
            for index, value in enumerate(detail):
                if not value:
                    continue  # list serializers give {} for the items without errors
                path = f"{prefix}.{index}" if prefix else str(index)
                for sub_path, messages in flatten_errors(value, path).items():
                    flat.setdefault(sub_path, []).extend(messages)
    else:
        flat[prefix or NON_FIELD] = [str(detail)]
    return flat


def _django_validation_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD if key == "__all__" else key): list(messages)
            for key, messages in error.message_dict.items()
        }
    return {}


def _summary(fields: dict[str, list[str]], default: str) -> str:
    non_field = fields.get(NON_FIELD)
    if non_field:
        return " ".join(non_field)
    if len(fields) == 1:
        (path, messages), *_ = fields.items()
        return f"{path}: {' '.join(messages)}"
    return default


def api_exception_handler(exc, context):
    """Every error as the one shape, a 500 too (logged with its traceback)."""
    if isinstance(exc, DjangoValidationError):
        fields = _django_validation_fields(exc)
        message = " ".join(exc.messages) if not fields else _summary(fields, "")
        if fields and not message:
            message = "Some fields are not valid; see `fields`."
        exc = ApplicationError(message, code="invalid", fields=fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(
            error_body(exc.code, exc.message, exc.fields),
            status=exc.status_code,
            headers=exc.headers,
        )
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.error(
            "Unexpected error in %s", type(view).__name__ if view else "the API", exc_info=exc
        )
        set_rollback()
        return Response(
            error_body("server_error", SERVER_ERROR_MESSAGE),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Tell the client how to authenticate (RFC 6750).
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        exc.status_code = status.HTTP_401_UNAUTHORIZED
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))

    if isinstance(exc, exceptions.UnsupportedMediaType):
        view = context.get("view")
        accepted = [parser.media_type for parser in view.get_parsers()] if view else []
        body = error_body(
            "unsupported_media_type", f"{exc.detail} Send the body as {' or '.join(accepted)}."
        )
    elif isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        message = _summary(fields, "Some fields are not valid; see `fields`.")
        body = error_body("invalid", message, fields)
    else:
        detail = exc.detail
        code = detail.code if hasattr(detail, "code") else exc.default_code
        body = error_body(str(code), str(detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)
