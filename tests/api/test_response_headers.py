"""Every API answer carries the key's quota (RateLimit-* headers, 2xx too) and a request id
(X-Request-ID: the caller's when given, else a new one), and our log lines carry that id."""

import io
import logging
import re

import pytest

pytestmark = pytest.mark.django_db


def quota(response) -> tuple[int, int, int]:
    return tuple(int(response[f"RateLimit-{name}"]) for name in ("Limit", "Remaining", "Reset"))


def test_a_2xx_answer_tells_the_quota_left(api, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 5
    first = api.get("/api/v1/documents")
    assert first.status_code == 200
    limit, remaining, reset = quota(first)
    assert (limit, remaining) == (5, 4)
    assert 0 < reset <= 60
    assert first["RateLimit-Policy"] == "5;w=60"
    second = api.post("/api/v1/contacts", {"name": "Acme"}, format="json")
    assert second.status_code == 201
    assert quota(second)[:2] == (5, 3)


def test_a_429_says_none_are_left_and_when(api, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 2
    api.get("/api/v1/documents")
    api.get("/api/v1/documents")
    refused = api.get("/api/v1/documents")
    assert refused.status_code == 429
    limit, remaining, reset = quota(refused)
    assert (limit, remaining) == (2, 0)
    assert 0 < reset <= 60 and int(refused["Retry-After"]) >= reset - 1


def test_errors_carry_the_quota_too(api):
    missing = api.get("/api/v1/documents/999999")
    assert missing.status_code == 404
    assert quota(missing)[1] >= 0


def test_a_request_id_is_echoed_or_made_and_logged(api):
    given = api.get("/api/v1/documents", HTTP_X_REQUEST_ID="partner-run-42")
    assert given["X-Request-ID"] == "partner-run-42"
    made = api.get("/api/v1/documents")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert api.get("/api/v1/documents")["X-Request-ID"] != made["X-Request-ID"]

    # The configured console handler writes the id on each line of the request's logs.
    (handler,) = [
        h for h in logging.getLogger().handlers if any(f for f in h.filters if f is not None)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        missing = api.get("/api/v1/documents/999999", HTTP_X_REQUEST_ID="trace-7f3a")
    finally:
        handler.setStream(previous)
    assert missing.status_code == 404 and missing["X-Request-ID"] == "trace-7f3a"
    lines = [line for line in stream.getvalue().splitlines() if "/api/v1/documents/999999" in line]
    assert lines and all("[trace-7f3a]" in line for line in lines), stream.getvalue()
