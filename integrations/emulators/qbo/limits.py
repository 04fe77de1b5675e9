"""Intuit's throttles: 500 requests a minute per realm (every app together, batch included), and
per realm and app 10 a second and 40 batch requests a minute. Refused calls are not counted, so
a client that waits gets through. Intuit publishes no Retry-After: its page says wait 60 seconds."""

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Throttles:
    calls_per_minute: int = 500
    calls_per_second: int = 10
    batch_calls_per_minute: int = 40

    def as_dict(self) -> dict:
        return asdict(self)


class Throttle:
    """Not thread-safe on its own: the emulator calls it under its lock."""

    def __init__(self, limits: Throttles, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._minute: dict[tuple, deque[float]] = defaultdict(deque)
        self._second: dict[tuple, deque[float]] = defaultdict(deque)
        self._batch: dict[tuple, deque[float]] = defaultdict(deque)
        self.accepted: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)

    def admit(self, realm_id: str, client_id: str, *, batch: bool) -> str | None:
        """Count the call, or name the throttle that refuses it (minute, second, batch)."""
        now = self.clock()
        scope = (realm_id, client_id)
        minute = self._minute[(realm_id,)]
        second, batches = self._second[scope], self._batch[scope]
        for calls, span in ((minute, 60), (second, 1), (batches, 60)):
            while calls and calls[0] <= now - span:
                calls.popleft()
        checks = [
            ("minute", minute, self.limits.calls_per_minute),
            ("second", second, self.limits.calls_per_second),
        ]
        if batch:
            checks.append(("batch", batches, self.limits.batch_calls_per_minute))
        for problem, calls, limit in checks:
            if len(calls) >= limit:
                self.refused[realm_id] += 1
                return problem
        minute.append(now)
        second.append(now)
        if batch:
            batches.append(now)
        self.accepted[realm_id] += 1
        return None
