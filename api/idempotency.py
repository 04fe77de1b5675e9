"""`Idempotency-Key` on POST: a retried request gets the first answer instead of doing it again.

- same key, same request (method, path and body) → the stored answer, replayed (status and body,
  with `Idempotent-Replayed: true`);
- same key, another request → 422;
- same key while the first request is still running → 409 (retry a little later);
- keys are kept 24 hours (api.tasks.idempotency_keys_purge deletes older ones; an expired row
  found on the way is dropped there and then).

The header is optional: a POST without it is simply not protected against being sent twice.
Keys belong to the API key that sent them, so two partner systems cannot collide.
Answers with a 5xx status, and requests that raised, are not kept: the client may retry them.
"""

import datetime
import functools
import hashlib
import json

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from accounts.models import ApiKey
from api.exceptions import ApplicationError
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = datetime.timedelta(hours=24)
# A request still "in progress" after this long died with its process: its key may be reused.
ABANDONED_AFTER = datetime.timedelta(minutes=5)
# Response headers worth replaying (the body and status are always replayed).
KEPT_HEADERS = ("Location",)


def _file_digest(upload: UploadedFile) -> dict:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def request_fingerprint(request) -> str:
    """A digest of what the request asks: method, path and the parsed body.

    The parsed body, not its bytes: a multipart boundary differs on every send, JSON
    whitespace and key order mean nothing.
    """
    data = request.data
    # A QueryDict (form or multipart) keeps every value of a repeated field.
    body = dict(data.lists()) if hasattr(data, "lists") else data
    files = {
        name: [_file_digest(upload) for upload in request.FILES.getlist(name)]
        for name in request.FILES
    }
    payload = {
        "method": request.method,
        "path": request.path,
        "body": body,
        "files": files,
    }
    encoded = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


def _claim(*, api_key: ApiKey, key: str, fingerprint: str, request) -> IdempotencyRecord | Response:
    """The new in-progress row for this key, or the answer to give instead of doing the work."""
    now = timezone.now()
    for _ in range(2):
        try:
            # Its own transaction, committed before the work: a concurrent request sees it.
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    api_key=api_key,
                    key=key,
                    request_fingerprint=fingerprint,
                    method=request.method,
                    path=request.path[:500],
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # finished and deleted meanwhile: claim it again
        expired = existing.created_at < now - RETENTION
        abandoned = (
            existing.state == IdempotencyRecord.State.IN_PROGRESS
            and existing.created_at < now - ABANDONED_AFTER
        )
        if expired or abandoned:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()
            continue
        if existing.request_fingerprint != fingerprint:
            raise ApplicationError(
                f"This {HEADER} was used with another request in the last 24 hours. "
                "Use a new key for a new request.",
                code="idempotency_key_reused",
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                fields={HEADER: ["Already used with another request."]},
            )
        if existing.state == IdempotencyRecord.State.IN_PROGRESS:
            raise ApplicationError(
                f"A request with this {HEADER} is still being processed. Retry shortly to get "
                "its answer.",
                code="idempotency_key_in_use",
                status_code=status.HTTP_409_CONFLICT,
                headers={"Retry-After": "1"},
            )
        headers = {**existing.response_headers, REPLAYED_HEADER: "true"}
        return Response(existing.response_body, status=existing.response_status, headers=headers)
    raise ApplicationError(
        f"This {HEADER} is busy; retry shortly.",
        code="idempotency_key_in_use",
        status_code=status.HTTP_409_CONFLICT,
        headers={"Retry-After": "1"},
    )


def _store(record: IdempotencyRecord, response: Response) -> None:
    body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=response.status_code,
        response_body=body,
        response_headers=headers,
        completed_at=timezone.now(),
    )


def idempotent(handler):
    """Decorate a POST handler of an APIView: honour the Idempotency-Key header."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not isinstance(request.auth, ApiKey):
            return handler(view, request, *args, **kwargs)
        if not _valid_key(key):
            raise ApplicationError(
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
                code="invalid",
                fields={HEADER: ["Not a valid key."]},
            )
        claimed = _claim(
            api_key=request.auth, key=key, fingerprint=request_fingerprint(request), request=request
        )
        if isinstance(claimed, Response):
            return claimed
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            try:
                # Errors of the request (400, 404, …) are its answer, and are kept like any.
                response = view.handle_exception(exc)
            except Exception:
                IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
                raise
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
        else:
            _store(claimed, response)
        return response

    wrapper.idempotent = True
    return wrapper


def idempotency_keys_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the keys older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
