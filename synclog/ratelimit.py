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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0
# A ledger's burst limit (QBO 10 calls a second, MYOB 8) is counted in its own rolling second.
SECOND = 1.0
# When all concurrency slots are taken, the holders usually release within seconds, long
# before their leases expire, so waiting for the earliest expiry would be far too pessimistic.
CONCURRENCY_RETRY_SECONDS = 0.5
# A wait is always > 0 so that "retry now" can never turn into a busy loop.
MIN_WAIT_SECONDS = 0.001


@dataclass(frozen=True)
class Limits:
    per_window: int = 60  # calls per rolling window
    window_seconds: float = 60.0
    max_concurrent: int = 5
    per_day: int = 5000  # calls per rolling 24 h
    per_second: int | None = None  # calls per rolling second, beside the window (None: no limit)

    def __post_init__(self):
        limits = [self.per_window, self.max_concurrent, self.per_day]
        if min(limits + ([] if self.per_second is None else [self.per_second])) < 1:
            raise ValueError(f"every limit must be at least 1: {self}")
        if self.window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive: {self}")


@dataclass(frozen=True)
class Grant:
    """The permission to make the granted calls now; release it when they are done."""

    key: str
    token: str  # identifies this holder's concurrency slot


class RateLimiter(ABC):
    def try_acquire(
        self,
        key: str,
        limits: Limits,
        *,
        calls: int = 1,
        requests: int | None = None,
        lease_seconds: float = 120,
    ) -> Grant | float:
        """A Grant when `calls` calls fit in every limit now, else the seconds to wait (> 0).

        Granted calls are counted at once, and one concurrency slot is held until release() or
        until the lease expires (so a killed worker cannot hold a slot forever). Never sleeps.
        The rolling second (limits.per_second) counts the HTTP requests the calls make,
        `requests` (by default as many as the calls): a QBO batch request weighs 13 calls of
        the minute for its batch limit, yet is one request. More requests than a second allows
        take the whole second instead of never fitting. The ledger counts a request when it
        arrives, which can be well after the grant (a worker builds the connector first): so
        the second counts the grant's requests until one second after release().
        """
        if calls < 1 or (requests is not None and requests < 1):
            raise ValueError("calls and requests must be at least 1")
        if calls > limits.per_window or calls > limits.per_day:
            # It would never fit: waiting would loop forever.
            raise ValueError(f"{calls} calls can never fit in {limits}")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        token = uuid.uuid4().hex
        requests = _second_requests(limits, requests or calls)
        wait = self._acquire(key, limits, calls, requests, lease_seconds, token)
        if wait is None:
            return Grant(key=key, token=token)
        return max(wait, MIN_WAIT_SECONDS)

    def wait_for(
        self, key: str, limits: Limits, *, calls: int = 1, requests: int | None = None
    ) -> float:
        """The seconds until `calls` calls would be granted (0: now), counting nothing.

        Lets a worker skip the work of preparing calls that could not be made now anyway; the
        later try_acquire() still decides.
        """
        requests = _second_requests(limits, max(requests or calls, 1))
        calls = min(max(calls, 1), limits.per_window, limits.per_day)
        wait = self._acquire(key, limits, calls, requests, 1.0, "", dry_run=True)
        return 0.0 if wait is None else max(wait, MIN_WAIT_SECONDS)

    @abstractmethod
    def window_usage(self, key: str, limits: Limits) -> tuple[int, float]:
        """The calls counted in the key's current window, and the seconds until the oldest of
        them leaves it (0 when none): what the API's RateLimit-* headers tell a caller."""

    @abstractmethod
    def _acquire(
        self,
        key: str,
        limits: Limits,
        calls: int,
        requests: int,
        lease_seconds: float,
        token: str,
        *,
        dry_run: bool = False,
    ) -> float | None:
        """None when granted (and counted, unless dry_run), else the seconds to wait."""

    @abstractmethod
    def release(self, grant: Grant) -> None:
        """Give back the grant's concurrency slot (the calls stay counted). Idempotent."""

    @abstractmethod
    def pause(self, key: str, seconds: float) -> None:
        """After a 429: nobody gets a grant for this key for `seconds` (Retry-After).

        A shorter pause never cuts a longer one that is already running short.
        """

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget everything about the key (tests and the demo)."""


# KEYS: window zset, day zset, holders zset, pause key, second zset.
# ARGV: per_window, window_us, max_concurrent, per_day, calls, lease_us, token, day_us, retry_us,
# dry_run (1: only answer, count nothing), per_second (0: none), second_us, requests (what the
# second counts, at most per_second).
# Returns {1, 0} when granted, else {0, wait_us}. Times are microseconds of the server's clock.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local per_window = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_concurrent = tonumber(ARGV[3])
local per_day = tonumber(ARGV[4])
local calls = tonumber(ARGV[5])
local lease = tonumber(ARGV[6])
local token = ARGV[7]
local day = tonumber(ARGV[8])
local retry = tonumber(ARGV[9])
local per_second = tonumber(ARGV[11])
local second = tonumber(ARGV[12])
local requests = tonumber(ARGV[13])

local paused = redis.call('PTTL', KEYS[4])
if paused > 0 then
  return {0, paused * 1000}
end

-- A call leaves the window once now >= its time + window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - day)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - second)

local wait = 0
-- Enough of the oldest calls must leave for `calls` more to fit: the last of them decides.
local function wait_for(zkey, limit, span, calls)
  local excess = redis.call('ZCARD', zkey) + calls - limit
  if excess <= 0 then
    return 0
  end
  local entry = redis.call('ZRANGE', zkey, excess - 1, excess - 1, 'WITHSCORES')
  return tonumber(entry[2]) + span - now
end
wait = math.max(wait, wait_for(KEYS[1], per_window, window, calls))
wait = math.max(wait, wait_for(KEYS[2], per_day, day, calls))
if per_second > 0 then
  wait = math.max(wait, wait_for(KEYS[5], per_second, second, requests))
end

local held = redis.call('ZCARD', KEYS[3])
if held >= max_concurrent then
  local entry = redis.call('ZRANGE', KEYS[3], held - max_concurrent, held - max_concurrent,
    'WITHSCORES')
  wait = math.max(wait, math.min(tonumber(entry[2]) - now, retry))
end
if wait > 0 then
  return {0, wait}
end
if ARGV[10] == '1' then
  return {1, 0}
end

-- Members must be unique or equal timestamps would collapse into one call.
local members = {}
for i = 1, calls do
  members[#members + 1] = now
  members[#members + 1] = token .. ':' .. i
  if #members >= 1000 or i == calls then
    redis.call('ZADD', KEYS[1], unpack(members))
    redis.call('ZADD', KEYS[2], unpack(members))
    members = {}
  end
end
if per_second > 0 then
  for i = 1, requests do
    redis.call('ZADD', KEYS[5], now, token .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[5], math.ceil(second / 1000) + 1000)
end
redis.call('ZADD', KEYS[3], now + lease, token)

-- Idle keys vanish: each expires when its newest entry would have left anyway.
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
redis.call('PEXPIRE', KEYS[2], math.ceil(day / 1000) + 1000)
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[3], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
return {1, 0}
"""

# KEYS: window zset. ARGV: window_us. Returns {calls in the window, us until the oldest leaves}.
_USAGE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local used = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES',
  'LIMIT', 0, 1)
if #oldest == 0 then
  return {used, 0}
end
return {used, tonumber(oldest[2]) + window - now}
"""

# KEYS: holders zset, second zset. ARGV: token. Frees the slot, and restarts the second of the
# token's requests (members token:1..n) now: the ledger may have counted them as late as this.
# Only the release that frees the slot does so: releasing again changes nothing.
_RELEASE_LUA = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local i = 1
while redis.call('ZSCORE', KEYS[2], ARGV[1] .. ':' .. i) do
  redis.call('ZADD', KEYS[2], now, ARGV[1] .. ':' .. i)
  i = i + 1
end
if i > 1 then
  redis.call('PEXPIRE', KEYS[2], 2000)
end
"""

# KEYS: pause key. ARGV: milliseconds. Only ever lengthens a running pause.
_PAUSE_LUA = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis_client: Any, prefix: str = "ledgersync:rl:"):
        self.redis = redis_client
        self.prefix = prefix
        self._acquire_script = redis_client.register_script(_ACQUIRE_LUA)
        self._pause_script = redis_client.register_script(_PAUSE_LUA)
        self._release_script = redis_client.register_script(_RELEASE_LUA)
        self._usage_script = redis_client.register_script(_USAGE_LUA)

    def window_usage(self, key: str, limits: Limits) -> tuple[int, float]:
        used, reset_us = self._usage_script(
            keys=self._keys(key)[:1], args=[_us(limits.window_seconds)]
        )
        return int(used), max(int(reset_us), 0) / 1_000_000

    def _keys(self, key: str) -> list[str]:
        # The braces are a Redis Cluster hash tag: all of a key's parts live on one node,
        # which a multi-key script requires.
        base = f"{self.prefix}{{{key}}}"
        return [f"{base}:win", f"{base}:day", f"{base}:holders", f"{base}:pause", f"{base}:sec"]

    def _acquire(
        self,
        key: str,
        limits: Limits,
        calls: int,
        requests: int,
        lease_seconds: float,
        token: str,
        *,
        dry_run: bool = False,
    ) -> float | None:
        granted, wait_us = self._acquire_script(
            keys=self._keys(key),
            args=[
                limits.per_window,
                _us(limits.window_seconds),
                limits.max_concurrent,
                limits.per_day,
                calls,
                _us(lease_seconds),
                token,
                _us(DAY_SECONDS),
                _us(CONCURRENCY_RETRY_SECONDS),
                "1" if dry_run else "0",
                limits.per_second or 0,
                _us(SECOND),
                requests,
            ],
        )
        return None if granted else int(wait_us) / 1_000_000

    # Both are asked after the ledger has answered, before that answer is saved: with Redis
    # away they must not raise, or the answer would be lost. Either is best effort: a slot not
    # given back is freed when its lease runs out, and a pause not set costs at most another 429.

    def release(self, grant: Grant) -> None:
        try:
            keys = self._keys(grant.key)
            self._release_script(keys=[keys[2], keys[4]], args=[grant.token])
        except RedisError as error:
            logger.warning("Rate limiter unavailable; the slot frees at its lease end: %s", error)

    def pause(self, key: str, seconds: float) -> None:
        ms = int(seconds * 1000)
        if ms > 0:
            try:
                self._pause_script(keys=[self._keys(key)[3]], args=[ms])
            except RedisError as error:
                logger.warning("Rate limiter unavailable; %s not paused: %s", key, error)

    def reset(self, key: str) -> None:
        self.redis.delete(*self._keys(key))


def _us(seconds: float) -> int:
    return int(round(seconds * 1_000_000))


class FileRateLimiter(RateLimiter):
    """Same semantics over one JSON file per key, serialised across processes by flock(2).

    Uses the wall clock (time.time()), which all processes on one machine share and which,
    unlike the monotonic clock, survives a reboot with the state file. Not for NFS.
    """

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        # Readable and filesystem-safe, the hash keeps distinct keys distinct.
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:64]
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.directory / f"{safe}-{digest}.json"

    def _locked(self, key: str, change) -> Any:
        """Run change(state, now) under the key's lock; it mutates the state, which is saved."""
        path = self._path(key)
        # A separate lock file: the state file is replaced atomically, so it cannot carry the lock.
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state, now = _load(path), time.time()
                _prune(state, now)
                result = change(state, now)
                _save(path, state)
                return result
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _acquire(
        self,
        key: str,
        limits: Limits,
        calls: int,
        requests: int,
        lease_seconds: float,
        token: str,
        *,
        dry_run: bool = False,
    ) -> float | None:
        def change(state: dict, now: float) -> float | None:
            paused = state["paused_until"] - now
            if paused > 0:
                return paused
            # [time, count] per grant, oldest first; the window is the tail of the day.
            day, holders = state["calls"], state["holders"]
            window = [e for e in day if e[0] > now - limits.window_seconds]

            wait = max(
                _wait_for(window, limits.per_window, calls, limits.window_seconds, now),
                _wait_for(day, limits.per_day, calls, DAY_SECONDS, now),
            )
            if limits.per_second is not None:
                second = [[at, n] for at, n, _ in state["second"]]
                wait = max(wait, _wait_for(second, limits.per_second, requests, SECOND, now))
            if len(holders) >= limits.max_concurrent:
                expiries = sorted(holders.values())
                first_free = expiries[len(holders) - limits.max_concurrent] - now
                wait = max(wait, min(first_free, CONCURRENCY_RETRY_SECONDS))
            if wait > 0:
                return wait
            if dry_run:
                return None
            day.append([now, calls])
            if limits.per_second is not None:
                state["second"].append([now, requests, token])
            holders[token] = now + lease_seconds
            return None

        return self._locked(key, change)

    def release(self, grant: Grant) -> None:
        def change(state: dict, now: float) -> None:
            if state["holders"].pop(grant.token, None) is None:
                return  # released already (or its lease ran out)
            # The ledger may have counted the requests as late as now (see try_acquire).
            for entry in state["second"]:
                if entry[2] == grant.token:
                    entry[0] = now
            state["second"].sort(key=lambda entry: entry[0])

        self._locked(grant.key, change)

    def window_usage(self, key: str, limits: Limits) -> tuple[int, float]:
        def read(state: dict, now: float) -> tuple[int, float]:
            window = [e for e in state["calls"] if e[0] > now - limits.window_seconds]
            if not window:
                return 0, 0.0
            return sum(count for _, count in window), window[0][0] + limits.window_seconds - now

        return self._locked(key, read)

    def pause(self, key: str, seconds: float) -> None:
        def change(state: dict, now: float) -> None:
            state["paused_until"] = max(state["paused_until"], now + seconds)

        if seconds > 0:
            self._locked(key, change)

    def reset(self, key: str) -> None:
        self._locked(key, lambda state, now: state.clear())


def _wait_for(entries: list, limit: int, calls: int, span: float, now: float) -> float:
    """Seconds until enough of the oldest calls leave for `calls` more to fit (0: they fit)."""
    excess = sum(count for _, count in entries) + calls - limit
    for at, count in entries:
        if excess <= 0:
            break
        excess -= count
        if excess <= 0:
            return at + span - now
    return 0.0


def _second_requests(limits: Limits, requests: int) -> int:
    """What a grant counts in the rolling second: its requests, at most a whole second."""
    return min(requests, limits.per_second or requests)


def _prune(state: dict, now: float) -> None:
    # The same rule as the Redis script: a call leaves once now >= its time + span.
    state["calls"] = [e for e in state["calls"] if e[0] > now - DAY_SECONDS]
    state["second"] = [e for e in state["second"] if e[0] > now - SECOND]
    state["holders"] = {t: exp for t, exp in state["holders"].items() if exp > now}
    if state["paused_until"] <= now:
        state["paused_until"] = 0.0


def _empty_state() -> dict:
    return {"calls": [], "second": [], "holders": {}, "paused_until": 0.0}


def _load(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        # A missing file is a fresh key; an unreadable one cannot be trusted more than that.
        return _empty_state()
    return {**_empty_state(), **state}


def _save(path: Path, state: dict) -> None:
    if not state or state == _empty_state():
        # Idle keys vanish (the lock file stays: removing it would race with a waiting locker).
        path.unlink(missing_ok=True)
        return
    # Write then rename, so a crash mid-write never leaves a half file behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, separators=(",", ":"))
    os.replace(tmp, path)


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
