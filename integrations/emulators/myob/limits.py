"""MYOB's limits belong to the API key, across every company file it reaches: 8 calls a second and
1,000,000 a day (NOTES.md, "Rate limits"). Refused calls are not counted, so a client that waits
gets through. The day is the UTC calendar day (when MYOB's resets is unverified)."""

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class KeyLimits:
    calls_per_second: int = 8
    calls_per_day: int = 1_000_000

    def as_dict(self) -> dict:
        return asdict(self)


class KeyMeter:
    """Not thread-safe on its own: the emulator calls it under its lock."""

    def __init__(self, limits: KeyLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._second: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, tuple[int, int]] = {}  # key -> (UTC day number, calls)
        self.accepted: dict[str, int] = defaultdict(int)  # by company file
        self.refused: dict[str, int] = defaultdict(int)

    def admit(self, api_key: str, business_id: str) -> str | None:
        """Count the call, or name the limit that refuses it ("second" or "day")."""
        now = self.clock()
        day = int(now // 86400)
        counted_day, calls_today = self._day.get(api_key, (day, 0))
        if counted_day != day:
            calls_today = 0
        second = self._second[api_key]
        while second and second[0] <= now - 1:
            second.popleft()
        if calls_today >= self.limits.calls_per_day:
            self.refused[business_id] += 1
            return "day"
        if len(second) >= self.limits.calls_per_second:
            self.refused[business_id] += 1
            return "second"
        second.append(now)
        self._day[api_key] = (day, calls_today + 1)
        self.accepted[business_id] += 1
        return None

    def usage(self) -> dict:
        return {
            "calls_today": {key: calls for key, (_, calls) in self._day.items()},
            "accepted": dict(self.accepted),
            "refused": dict(self.refused),
        }
