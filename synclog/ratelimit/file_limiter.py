"""The file rate limiter (no Redis): one JSON state file per key, serialised by flock(2)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

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
        goes_first: str = "",
        gives_way: bool = False,
        dry_run: bool = False,
    ) -> float | None:
        def refuse(state: dict, now: float, wait: float) -> float:
            # Refused, a caller that goes first is left room by those who give way until its
            # retry: [until, requests, calls].
            if goes_first and not dry_run:
                state["first"][goes_first] = [now + wait + FIRST_HOLD_SECONDS, requests, calls]
            return wait

        def change(state: dict, now: float) -> float | None:
            paused = state["paused_until"] - now
            if paused > 0:
                return refuse(state, now, paused)
            per_window, per_day = limits.per_window, limits.per_day
            per_second, max_concurrent = limits.per_second, limits.max_concurrent
            waiting = list(state["first"].values()) if gives_way else []
            if waiting:
                # Those who give way take only what the callers waiting to go first leave:
                # their requests of the second, their calls of the window and day, a slot each.
                waiting_calls = sum(entry[2] for entry in waiting)
                per_window, per_day = per_window - waiting_calls, per_day - waiting_calls
                max_concurrent -= len(waiting)
                if per_second is not None:
                    per_second -= sum(entry[1] for entry in waiting)
                if (
                    min(per_window, per_day) < calls
                    or max_concurrent < 1
                    or (per_second is not None and per_second < requests)
                ):
                    # No room beside them: until the last of them has had its turn.
                    return max(entry[0] for entry in waiting) - now
            # [time, count] per grant, oldest first; the window is the tail of the day.
            day, holders = state["calls"], state["holders"]
            window = [e for e in day if e[0] > now - limits.window_seconds]

            wait = max(
                _wait_for(window, per_window, calls, limits.window_seconds, now),
                _wait_for(day, per_day, calls, DAY_SECONDS, now),
            )
            if per_second is not None:
                second = [[at, n] for at, n, _ in state["second"]]
                wait = max(wait, _wait_for(second, per_second, requests, SECOND, now))
            if len(holders) >= max_concurrent:
                expiries = sorted(holders.values())
                first_free = expiries[len(holders) - max_concurrent] - now
                wait = max(wait, min(first_free, CONCURRENCY_RETRY_SECONDS))
            if wait > 0:
                return refuse(state, now, wait)
            if dry_run:
                return None
            state["first"].pop(goes_first, None)
            day.append([now, calls])
            if limits.per_second is not None:
                state["second"].append([now, requests, token])
            holders[token] = now + lease_seconds
            return None

        return self._locked(key, change)

    def release(self, grant: Grant, *, sent_ago: list[float] | None = None) -> None:
        def change(state: dict, now: float) -> None:
            if state["holders"].pop(grant.token, None) is None:
                return  # released already (or its lease ran out)
            for entry in state["second"]:
                if entry[2] != grant.token:
                    continue
                if sent_ago is None:
                    # The ledger may have counted the requests as late as now (see try_acquire).
                    entry[0] = now
                elif sent_ago:
                    # One entry holds the grant's requests: counted from the latest sent.
                    entry[0] = now - max(min(sent_ago), 0.0)
            state["second"].sort(key=lambda entry: entry[0])

        self._locked(grant.key, change)

    def usage(self, key: str, limits: Limits) -> QuotaUsage:
        def read(state: dict, now: float) -> QuotaUsage:
            window = [e for e in state["calls"] if e[0] > now - limits.window_seconds]
            return QuotaUsage(
                window_used=sum(count for _, count in window),
                window_frees_in=window[0][0] + limits.window_seconds - now if window else 0.0,
                day_used=sum(count for _, count in state["calls"]),
                second_used=sum(entry[1] for entry in state["second"]),
                paused_for=max(0.0, state["paused_until"] - now),
            )

        return self._locked(key, read)

    def pause(self, key: str, seconds: float) -> None:
        def change(state: dict, now: float) -> None:
            state["paused_until"] = max(state["paused_until"], now + seconds)

        if seconds > 0:
            self._locked(key, change)

    def next_turn(self, key: str, interval: float, *, not_before: float = 0.0) -> float:
        not_before = max(not_before, 0.0)

        def change(state: dict, now: float) -> float:
            free = max(state["next_turn"], now)
            if now + not_before > free + interval:
                return not_before
            turn = max(free, now + not_before)
            state["next_turn"] = turn + interval
            return turn - now

        return self._locked(key, change)

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


def _prune(state: dict, now: float) -> None:
    # The same rule as the Redis script: a call leaves once now >= its time + span.
    state["calls"] = [e for e in state["calls"] if e[0] > now - DAY_SECONDS]
    state["second"] = [e for e in state["second"] if e[0] > now - SECOND]
    state["holders"] = {t: exp for t, exp in state["holders"].items() if exp > now}
    state["first"] = {name: entry for name, entry in state["first"].items() if entry[0] > now}
    if state["paused_until"] <= now:
        state["paused_until"] = 0.0
    if state["next_turn"] <= now:
        state["next_turn"] = 0.0


def _empty_state() -> dict:
    return {
        "calls": [],
        "second": [],
        "holders": {},
        "paused_until": 0.0,
        "next_turn": 0.0,
        "first": {},
    }


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
