"""The Redis rate limiter: one Lua script per acquire, atomic across hosts, on the server's
clock."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

from synclog.ratelimit.base import (
    CONCURRENCY_RETRY_SECONDS,
    DAY_SECONDS,
    FIRST_HOLD_SECONDS,
    SECOND,
    Grant,
    Limits,
    QuotaUsage,
    RateLimiter,
)

logger = logging.getLogger("synclog.ratelimit")  # its name before the package split


# KEYS: window zset, day zset, holders zset, pause key, second zset, first zset (the callers who
# go first and wait, as 'name|requests|calls' -> until when those who give way leave them room).
# ARGV: per_window, window_us, max_concurrent, per_day, calls, lease_us, token, day_us, retry_us,
# dry_run (1: only answer, count nothing), per_second (0: none), second_us, requests (what the
# second counts, at most per_second), goes_first (a name, or ''), gives_way (1 or 0), hold_us.
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
local goes_first = ARGV[14]
local dry_run = ARGV[10] == '1'

local function forget_own_wait()
  local prefix = goes_first .. '|'
  for _, member in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then
      redis.call('ZREM', KEYS[6], member)
    end
  end
end

-- Refused, a caller that goes first is left room by those who give way until its retry.
local function refuse(wait)
  if goes_first ~= '' and not dry_run then
    forget_own_wait()
    local member = goes_first .. '|' .. requests .. '|' .. calls
    redis.call('ZADD', KEYS[6], now + wait + tonumber(ARGV[16]), member)
    local last = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[6], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
  end
  return {0, wait}
end

local paused = redis.call('PTTL', KEYS[4])
if paused > 0 then
  return refuse(paused * 1000)
end

redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
local limits_second = per_second > 0
if ARGV[15] == '1' then
  -- Those who give way take only what the callers waiting to go first leave: their requests
  -- of the second, their calls of the window and day, a slot each.
  local held_until = 0
  local waiting = redis.call('ZRANGE', KEYS[6], 0, -1, 'WITHSCORES')
  for i = 1, #waiting, 2 do
    local _, _, r, c = string.find(waiting[i], '|(%d+)|(%d+)$')
    per_second = per_second - tonumber(r)
    per_window = per_window - tonumber(c)
    per_day = per_day - tonumber(c)
    max_concurrent = max_concurrent - 1
    held_until = math.max(held_until, tonumber(waiting[i + 1]))
  end
  if per_window < calls or per_day < calls or max_concurrent < 1
      or (limits_second and per_second < requests) then
    -- No room beside them: until the last of them has had its turn (or its hold ends).
    return {0, held_until - now}
  end
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
if limits_second then
  wait = math.max(wait, wait_for(KEYS[5], per_second, second, requests))
end

local held = redis.call('ZCARD', KEYS[3])
if held >= max_concurrent then
  local entry = redis.call('ZRANGE', KEYS[3], held - max_concurrent, held - max_concurrent,
    'WITHSCORES')
  wait = math.max(wait, math.min(tonumber(entry[2]) - now, retry))
end
if wait > 0 then
  return refuse(wait)
end
if dry_run then
  return {1, 0}
end
if goes_first ~= '' then
  forget_own_wait()
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
if limits_second then
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

# KEYS: window zset, day zset, pause key, second zset. ARGV: window_us, day_us, second_us.
# Returns {window used, us until the window's oldest leaves, day used, second used, pause ms}.
_QUOTA_USAGE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local used = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES',
  'LIMIT', 0, 1)
local frees = 0
if #oldest > 0 then
  frees = tonumber(oldest[2]) + window - now
end
local day = redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[2])), '+inf')
local second = redis.call('ZCOUNT', KEYS[4], '(' .. (now - tonumber(ARGV[3])), '+inf')
return {used, frees, day, second, math.max(redis.call('PTTL', KEYS[3]), 0)}
"""

# KEYS: holders zset, second zset. ARGV: token, then the microseconds before now at which the
# requests were sent, latest first (none: unknown). Frees the slot, and restarts the second of
# the token's requests (members token:1..n) when they were sent, or now: the ledger may have
# counted them as late as this. Members beyond the requests sent keep their grant's time.
# Only the release that frees the slot does so: releasing again changes nothing.
_RELEASE_LUA = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local known = #ARGV > 1
local i = 1
while redis.call('ZSCORE', KEYS[2], ARGV[1] .. ':' .. i) do
  if not known then
    redis.call('ZADD', KEYS[2], now, ARGV[1] .. ':' .. i)
  elseif ARGV[i + 1] then
    redis.call('ZADD', KEYS[2], now - tonumber(ARGV[i + 1]), ARGV[1] .. ':' .. i)
  end
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


# KEYS: the line's next free turn (microseconds of the server's clock). ARGV: interval_us,
# not_before_us. Returns the microseconds until the turn taken (or not_before_us: none taken).
_NEXT_TURN_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local not_before = now + tonumber(ARGV[2])
local free = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
if not_before > free + interval then
  return tonumber(ARGV[2])
end
local turn = math.max(free, not_before)
redis.call('SET', KEYS[1], turn + interval, 'PX', math.ceil((turn + interval - now) / 1000) + 1000)
return turn - now
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis_client: Any, prefix: str = "ledgersync:rl:"):
        self.redis = redis_client
        self.prefix = prefix
        self._acquire_script = redis_client.register_script(_ACQUIRE_LUA)
        self._pause_script = redis_client.register_script(_PAUSE_LUA)
        self._release_script = redis_client.register_script(_RELEASE_LUA)
        self._quota_usage_script = redis_client.register_script(_QUOTA_USAGE_LUA)
        self._next_turn_script = redis_client.register_script(_NEXT_TURN_LUA)

    def usage(self, key: str, limits: Limits) -> QuotaUsage:
        window_key, day_key, _, pause_key, second_key, *_ = self._keys(key)
        used, frees_us, day, second, pause_ms = self._quota_usage_script(
            keys=[window_key, day_key, pause_key, second_key],
            args=[_us(limits.window_seconds), _us(DAY_SECONDS), _us(SECOND)],
        )
        return QuotaUsage(
            window_used=int(used),
            window_frees_in=max(int(frees_us), 0) / 1_000_000,
            day_used=int(day),
            second_used=int(second),
            paused_for=int(pause_ms) / 1000,
        )

    def _keys(self, key: str) -> list[str]:
        # The braces are a Redis Cluster hash tag: all of a key's parts live on one node,
        # which a multi-key script requires.
        base = f"{self.prefix}{{{key}}}"
        return [
            f"{base}:win",
            f"{base}:day",
            f"{base}:holders",
            f"{base}:pause",
            f"{base}:sec",
            f"{base}:turn",
            f"{base}:first",
        ]

    def _acquire(
        self,
        key: str,
        limits: Limits,
        calls: int,
        requests: int,
        lease_seconds: float,
        token: str,
        *,
        goes_first: str = "",
        gives_way: bool = False,
        dry_run: bool = False,
    ) -> float | None:
        window_key, day_key, holders_key, pause_key, second_key, _, first_key = self._keys(key)
        granted, wait_us = self._acquire_script(
            keys=[window_key, day_key, holders_key, pause_key, second_key, first_key],
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
                goes_first,
                "1" if gives_way else "0",
                _us(FIRST_HOLD_SECONDS),
            ],
        )
        return None if granted else int(wait_us) / 1_000_000

    # Both are asked after the ledger has answered, before that answer is saved: with Redis
    # away they must not raise, or the answer would be lost. Either is best effort: a slot not
    # given back is freed when its lease runs out, and a pause not set costs at most another 429.

    def release(self, grant: Grant, *, sent_ago: list[float] | None = None) -> None:
        sent = [_us(max(ago, 0.0)) for ago in sorted(sent_ago or [])]
        try:
            keys = self._keys(grant.key)
            self._release_script(keys=[keys[2], keys[4]], args=[grant.token, *sent])
        except RedisError as error:
            logger.warning("Rate limiter unavailable; the slot frees at its lease end: %s", error)

    def pause(self, key: str, seconds: float) -> None:
        ms = int(seconds * 1000)
        if ms > 0:
            try:
                self._pause_script(keys=[self._keys(key)[3]], args=[ms])
            except RedisError as error:
                logger.warning("Rate limiter unavailable; %s not paused: %s", key, error)

    def next_turn(self, key: str, interval: float, *, not_before: float = 0.0) -> float:
        # Asked while sending tasks: with Redis away the task goes unpaced (its run asks the
        # quota itself), and the send is left to fail or not on its own broker.
        try:
            wait_us = self._next_turn_script(
                keys=[self._keys(key)[5]], args=[_us(interval), _us(max(not_before, 0.0))]
            )
        except RedisError as error:
            logger.warning("Rate limiter unavailable; %s not paced: %s", key, error)
            return max(not_before, 0.0)
        return int(wait_us) / 1_000_000

    def reset(self, key: str) -> None:
        self.redis.delete(*self._keys(key))


def _us(seconds: float) -> int:
    return int(round(seconds * 1_000_000))
