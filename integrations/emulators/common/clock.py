"""A clock that tests move by hand; emulators take any `() -> float` clock (default time.time)."""

import threading
import time


class ManualClock:
    """A clock for tests: `clock()` returns the time, `advance(seconds)` moves it forward."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
