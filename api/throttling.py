"""Each API key has its own rate limit, shared by every web process (synclog.ratelimit)."""

import logging
import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RateLimitState:
    """A key's quota after this call, as the RateLimit-* headers tell it (IETF
    draft-ietf-httpapi-ratelimit-headers): calls per window, calls left, seconds until one
    more call is allowed back into the window."""

    limit: int
    remaining: int
    reset: float

    def headers(self, window_seconds: float) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset)),
            "RateLimit-Policy": f"{self.limit};w={int(window_seconds)}",
        }


def rate_limit_headers(request) -> dict[str, str]:
    state = getattr(request, "rate_limit", None)
    if state is None:
        return {}
    return state.headers(api_key_limits().window_seconds)


class ApiKeyRateThrottle(BaseThrottle):
    """429 with Retry-After once a key has made its calls of the last minute; every answer
    tells the key's quota in RateLimit-* headers (ApiView.finalize_response)."""

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
        limits = api_key_limits()
        if isinstance(grant, Grant):
            limiter.release(grant)
            try:
                used, reset = limiter.window_usage(rate_limit_key(api_key), limits)
            except (RedisError, OSError):
                return True  # the call goes through; only its headers are missing
            request.rate_limit = RateLimitState(
                limit=limits.per_window, remaining=max(limits.per_window - used, 0), reset=reset
            )
            return True
        self._wait = float(grant)
        request.rate_limit = RateLimitState(limit=limits.per_window, remaining=0, reset=self._wait)
        return False

    def wait(self) -> float | None:
        return self._wait
