"""What every rate limiter offers (RateLimiter), the limits it is asked for and the grant it
answers with; the package docstring says how the two implementations differ."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass

DAY_SECONDS = 86_400.0
# A ledger's burst limit (QBO 10 calls a second, MYOB 8) is counted in its own rolling second.
SECOND = 1.0
# When all concurrency slots are taken, the holders usually release within seconds, long
# before their leases expire, so waiting for the earliest expiry would be far too pessimistic.
CONCURRENCY_RETRY_SECONDS = 0.5
# A wait is always > 0 so that "retry now" can never turn into a busy loop.
MIN_WAIT_SECONDS = 0.001
# A caller that goes first and was refused is left room by those who give way for its wait and
# this much more: time for its retry to be scheduled and run on a busy worker.
FIRST_HOLD_SECONDS = 1.0


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
class QuotaUsage:
    """What a key's quota has counted now: calls in the window and the day, requests in the
    rolling second, and a pause after the ledger's 429 (seconds; 0: none)."""

    window_used: int = 0
    window_frees_in: float = 0.0  # until the window's oldest call leaves it (0: none counted)
    day_used: int = 0
    second_used: int = 0
    paused_for: float = 0.0


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
        goes_first: str = "",
        gives_way: bool = False,
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

        Priority in one quota, instead of a fixed share kept free: a caller that `goes_first`
        (a name that stays the same across its retries, e.g. "record:42") and is refused is
        left room by every caller of the key that `gives_way` (bulk work) until it is granted,
        or until its wait and FIRST_HOLD_SECONDS more have passed (a retry that never comes):
        whoever gives way takes only what the quota holds beyond the waiting callers' requests
        of the second, their calls and a slot each.
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
        wait = self._acquire(
            key,
            limits,
            calls,
            requests,
            lease_seconds,
            token,
            goes_first=goes_first,
            gives_way=gives_way,
        )
        if wait is None:
            return Grant(key=key, token=token)
        return max(wait, MIN_WAIT_SECONDS)

    def wait_for(
        self,
        key: str,
        limits: Limits,
        *,
        calls: int = 1,
        requests: int | None = None,
        gives_way: bool = False,
    ) -> float:
        """The seconds until `calls` calls would be granted (0: now), counting nothing (and
        holding nobody back; `gives_way` as for try_acquire).

        Lets a worker skip the work of preparing calls that could not be made now anyway; the
        later try_acquire() still decides.
        """
        requests = _second_requests(limits, max(requests or calls, 1))
        calls = min(max(calls, 1), limits.per_window, limits.per_day)
        wait = self._acquire(
            key, limits, calls, requests, 1.0, "", gives_way=gives_way, dry_run=True
        )
        return 0.0 if wait is None else max(wait, MIN_WAIT_SECONDS)

    def window_usage(self, key: str, limits: Limits) -> tuple[int, float]:
        """The calls counted in the key's current window, and the seconds until the oldest of
        them leaves it (0 when none): what the API's RateLimit-* headers tell a caller."""
        usage = self.usage(key, limits)
        return usage.window_used, usage.window_frees_in

    @abstractmethod
    def usage(self, key: str, limits: Limits) -> QuotaUsage:
        """Everything the key's quota has counted now, counting nothing (the quota meter)."""

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
        goes_first: str = "",
        gives_way: bool = False,
        dry_run: bool = False,
    ) -> float | None:
        """None when granted (and counted, unless dry_run), else the seconds to wait. Refused,
        a caller that `goes_first` is left room (unless dry_run); granted, it no longer is."""

    @abstractmethod
    def release(self, grant: Grant, *, sent_ago: list[float] | None = None) -> None:
        """Give back the grant's concurrency slot (the calls stay counted). Idempotent.

        The rolling second then counts the grant's requests from when they were sent,
        `sent_ago` (seconds before now, one per request sent), or from now when the caller
        does not know. A ledger counts a request when it arrives, one network delay after it
        was sent and about the same for each request, so its second spaces them as ours does;
        counted from the release, each request took a second plus its whole answer's time
        (MYOB at 100 ms a call: 7 requests in 1.2 s, not in 1)."""

    @abstractmethod
    def pause(self, key: str, seconds: float) -> None:
        """After a 429: nobody gets a grant for this key for `seconds` (Retry-After).

        A shorter pause never cuts a longer one that is already running short.
        """

    @abstractmethod
    def next_turn(self, key: str, interval: float, *, not_before: float = 0.0) -> float:
        """Take the key's next turn of a paced line and answer in how many seconds it comes
        (0: now). Turns are `interval` seconds apart, given in the order asked, so that senders
        who share the key run one after another instead of all at once. A turn comes no sooner
        than `not_before` seconds from now; one asked for later than a turn after the line's
        end takes none (answers `not_before`), so that a long wait never holds the line back."""

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget everything about the key (tests and the demo)."""


def _second_requests(limits: Limits, requests: int) -> int:
    """What a grant counts in the rolling second: its requests, at most a whole second."""
    return min(requests, limits.per_second or requests)
