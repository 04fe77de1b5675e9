"""Per-connection rate limits shared by every worker process (DESIGN §4.10).

A worker asks for quota before calling a ledger. It never sleeps waiting for it: it gets either a
Grant (the calls are counted at once and one concurrency slot is held) or the seconds to wait,
and reschedules itself for then. A 429 pauses the key until its Retry-After has passed.

Two implementations with the same semantics:

- RedisRateLimiter: one Lua script per acquire, so check-and-count is atomic across any number
  of hosts, and it uses the Redis server's clock so that worker clocks do not matter.
- FileRateLimiter: the zero-setup default (no Redis: the filesystem broker): one JSON state file per
  key guarded by flock(2). Correct across processes on one machine, which is exactly that case.

The limits for a key are taken from each call; callers must use the same Limits for a key.

    base           Limits, Grant, QuotaUsage, RateLimiter (the interface and what both share)
    redis_limiter  RedisRateLimiter and its Lua scripts
    file_limiter   FileRateLimiter
    (here)         get_rate_limiter: the one for this process and its settings
"""

from __future__ import annotations

import os
from pathlib import Path

from synclog.ratelimit.base import DAY_SECONDS, SECOND, Grant, Limits, QuotaUsage, RateLimiter
from synclog.ratelimit.file_limiter import FileRateLimiter
from synclog.ratelimit.redis_limiter import RedisRateLimiter

__all__ = [
    "DAY_SECONDS",
    "SECOND",
    "FileRateLimiter",
    "Grant",
    "Limits",
    "QuotaUsage",
    "RateLimiter",
    "RedisRateLimiter",
    "get_rate_limiter",
]


_limiters: dict[tuple, RateLimiter] = {}


def get_rate_limiter() -> RateLimiter:
    """Redis when settings.REDIS_URL is set, else the file one; one per process and setting."""
    from django.conf import settings

    redis_url = getattr(settings, "REDIS_URL", "")
    # The pid is part of the key so a forked worker never reuses its parent's connections.
    cache_key = (os.getpid(), redis_url, str(settings.VAR_DIR))
    limiter = _limiters.get(cache_key)
    if limiter is None:
        if redis_url:
            import redis

            limiter = RedisRateLimiter(
                redis.Redis.from_url(redis_url), prefix=settings.RATE_LIMIT_KEY_PREFIX
            )
        else:
            limiter = FileRateLimiter(Path(settings.VAR_DIR) / "ratelimit")
        _limiters[cache_key] = limiter
    return limiter
