"""Each API key has its own rate limit: beyond it, 429 with Retry-After."""

import logging

import pytest

from synclog.ratelimit import get_rate_limiter

pytestmark = pytest.mark.django_db


def test_a_key_over_its_limit_gets_429_with_retry_after(api, other_api, settings, org):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert api.get("/api/v1/contacts").status_code == 200
    response = api.get("/api/v1/contacts")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    # POSTs count too, and are refused before any work.
    refused = api.post("/api/v1/contacts", {"name": "x"}, format="json")
    assert refused.status_code == 429
    # Another key (another partner) is not slowed down by this one.
    assert other_api.get("/api/v1/contacts").status_code == 200


def test_the_limit_is_per_minute_and_frees_up(api, api_key, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 1
    assert api.get("/api/v1/contacts").status_code == 200
    assert api.get("/api/v1/contacts").status_code == 429
    get_rate_limiter().reset(f"api-key:{api_key.pk}")  # as if the minute had passed
    assert api.get("/api/v1/contacts").status_code == 200


def test_calls_without_a_valid_key_are_401_not_counted(anonymous, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 1
    for _ in range(3):
        assert anonymous.get("/api/v1/contacts").status_code == 401


def test_with_redis_away_the_api_answers_and_logs_that_the_limit_is_off(
    api, settings, caplog, vendor
):
    """Issue 12 item 10: with the limiter's Redis unreachable, 6 of 6 calls answered 500."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 3
    with caplog.at_level(logging.WARNING, logger="api.throttling"):
        answers = [api.get("/api/v1/contacts").status_code for _ in range(5)]
        answers.append(api.post("/api/v1/contacts", {"name": "Acme"}, format="json").status_code)
    assert answers == [200] * 5 + [201]
    warnings = [r for r in caplog.records if r.name == "api.throttling"]
    assert len(warnings) == 6
    assert "rate limit unavailable" in warnings[0].getMessage()
