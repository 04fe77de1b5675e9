"""Each API key has its own rate limit, shared by every web process (synclog.ratelimit)."""

import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from synclog.ratelimit import Grant, Limits, get_rate_limiter

DEFAULT_PER_MINUTE = 600
# A call holds its concurrency slot only while it is counted, so concurrency is not limited;
# the limiter needs positive numbers all the same.
UNLIMITED_CONCURRENT = 1_000_000
UNLIMITED_PER_DAY = 1_000_000_000

logger = logging.getLogger(__name__)


def api_key_limits() -> Limits:
    per_minute = int(getattr(settings, "API_KEY_RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE))
    return Limits(
        per_window=max(1, per_minute),
        window_seconds=60.0,
        max_concurrent=UNLIMITED_CONCURRENT,
        per_day=UNLIMITED_PER_DAY,
    )


def rate_limit_key(api_key: ApiKey) -> str:
    return f"api-key:{api_key.pk}"


class ApiKeyRateThrottle(BaseThrottle):
    """429 with Retry-After once a key has made its calls of the last minute."""

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # unauthenticated calls stop at the permission check
        limiter = get_rate_limiter()
        try:
            grant = limiter.try_acquire(rate_limit_key(api_key), api_key_limits(), lease_seconds=1)
        except (RedisError, OSError) as error:
            # The limit shares a partner's calls fairly; it guards no data (the key is checked
            # already). With its store away, the API answers rather than 500 on every call.
            logger.warning(
                "API rate limit unavailable, call of API key %s let through: %s", api_key.pk, error
            )
            return True
        if isinstance(grant, Grant):
            limiter.release(grant)
            return True
        self._wait = float(grant)
        return False

    def wait(self) -> float | None:
        return self._wait
