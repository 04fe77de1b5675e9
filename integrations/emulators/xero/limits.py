"""Xero's API rate limits: per tenant a rolling window, a daily cap and calls in flight; per app
a rolling minute. Calls refused with 429 are not counted, so a client that waits Retry-After
gets through."""

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

DAY = 24 * 3600
APP_WINDOW = 60


@dataclass
class RateLimits:
    calls_per_window: int = 60
    window_seconds: float = 60
    max_concurrent: int = 5
    calls_per_day: int = 5000
    app_calls_per_minute: int = 10_000

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Admission:
    allowed: bool
    headers: dict[str, str]
    problem: str | None = None  # X-Rate-Limit-Problem: minute | day | concurrent | appminute
    retry_after: int = 0


class RateLimiter:
    """Not thread-safe on its own: the emulator calls it under its lock."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._window: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, deque[float]] = defaultdict(deque)
        self._app: deque[float] = deque()
        self._in_flight: dict[str, int] = defaultdict(int)
        self.accepted: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)

    def admit(self, tenant_id: str) -> Admission:
        """Count a call and take an in-flight slot, or say which limit refuses it and for how
        long. Retry-After is the whole seconds until the oldest counted call leaves the window
        (at least 1); for the concurrent limit it is 1."""
        now = self.clock()
        limits = self.limits
        window, day = self._window[tenant_id], self._day[tenant_id]
        _drop_older(window, now - limits.window_seconds)
        _drop_older(day, now - DAY)
        _drop_older(self._app, now - APP_WINDOW)
        checks = (
            ("day", day, limits.calls_per_day, DAY),
            ("appminute", self._app, limits.app_calls_per_minute, APP_WINDOW),
            ("minute", window, limits.calls_per_window, limits.window_seconds),
        )
        for problem, calls, limit, span in checks:
            if len(calls) >= limit:
                wait = calls[len(calls) - limit] + span - now if limit > 0 else span
                return self._refuse(tenant_id, problem, max(1, math.ceil(wait)))
        if self._in_flight[tenant_id] >= limits.max_concurrent:
            return self._refuse(tenant_id, "concurrent", 1)
        for calls in (window, day, self._app):
            calls.append(now)
        self._in_flight[tenant_id] += 1
        self.accepted[tenant_id] += 1
        return Admission(True, self.headers(tenant_id))

    def release(self, tenant_id: str) -> None:
        self._in_flight[tenant_id] = max(0, self._in_flight[tenant_id] - 1)

    def headers(self, tenant_id: str) -> dict[str, str]:
        limits = self.limits
        return {
            "X-DayLimit-Remaining": str(max(0, limits.calls_per_day - len(self._day[tenant_id]))),
            "X-MinLimit-Remaining": str(
                max(0, limits.calls_per_window - len(self._window[tenant_id]))
            ),
            "X-AppMinLimit-Remaining": str(max(0, limits.app_calls_per_minute - len(self._app))),
        }

    def _refuse(self, tenant_id: str, problem: str, retry_after: int) -> Admission:
        self.refused[tenant_id] += 1
        headers = {
            **self.headers(tenant_id),
            "Retry-After": str(retry_after),
            "X-Rate-Limit-Problem": problem,
        }
        return Admission(False, headers, problem, retry_after)


def _drop_older(calls: deque[float], cutoff: float) -> None:
    while calls and calls[0] <= cutoff:
        calls.popleft()
