"""The rate limiter's tests' scaffolding: both implementations (Redis and file) behind one
`spec` fixture, so that every test runs against each, and a spec a spawned process can build its
own limiter from."""

import time
import uuid

import pytest

from synclog.ratelimit import FileRateLimiter, Grant, Limits, RedisRateLimiter

# Slack for the time that passes between our own clock readings and the limiter's.
TOLERANCE = 0.05
WIDE = Limits(per_window=1000, window_seconds=60, max_concurrent=1000, per_day=100_000)


def make_limiter(spec):
    """Build a limiter from a picklable spec, so that spawned processes can build their own."""
    kind, *args = spec
    if kind == "redis":
        import redis

        url, prefix = args
        return RedisRateLimiter(redis.Redis.from_url(url), prefix=prefix)
    return FileRateLimiter(args[0])


@pytest.fixture(params=["redis", "file"])
def spec(request, tmp_path, settings):
    if request.param == "file":
        yield ("file", str(tmp_path / "ratelimit"))
        return
    if not settings.REDIS_URL:
        pytest.skip("set REDIS_URL to test the Redis limiter")
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {settings.REDIS_URL}")
    # A prefix of our own, so we can remove exactly our keys and never touch anyone else's.
    prefix = f"ledgersync:rl:test-{uuid.uuid4().hex}:"
    yield ("redis", settings.REDIS_URL, prefix)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def limiter(spec):
    return make_limiter(spec)


def acquire_until_granted(limiter, key, limits, *, deadline_seconds=5.0, **kwargs):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        result = limiter.try_acquire(key, limits, **kwargs)
        if isinstance(result, Grant):
            return result
        time.sleep(min(result, 0.05))
    pytest.fail(f"no grant within {deadline_seconds} s")
