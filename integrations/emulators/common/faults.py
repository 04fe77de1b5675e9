"""Faults injected through the control API into a ledger emulator's API calls.

One call takes at most one counted fault, in this order: burst_429, fail_next, timeout_rate,
error_rate. latency_ms delays every call; drop_response_next applies a write and loses its answer.
A ledger with faults of its own subclasses FaultSettings and Faults (naming its settings_class).
"""

import random
from dataclasses import asdict, dataclass, fields, replace


@dataclass
class FaultSettings:
    error_rate: float = 0.0  # share of calls answered 500 or 503
    latency_ms: int = 0
    timeout_rate: float = 0.0  # share of calls never answered (nothing applied)
    fail_next_count: int = 0
    fail_next_status: int = 503
    burst_429: int = 0  # the next N calls are refused as rate limited
    drop_response_next: int = 0  # the next N writes are applied, then never answered

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" | "rate_limited" | "timeout"
    status: int = 0


class Faults:
    """Not thread-safe on its own: the emulator calls it under its lock."""

    settings_class: type[FaultSettings] = FaultSettings

    def __init__(self, seed: int | None = None) -> None:
        self.settings = self.settings_class()
        self.random = random.Random(seed)

    def clear(self) -> None:
        self.settings = self.settings_class()

    def update(self, changes: dict) -> FaultSettings:
        """Merge settings; accepts the control API shape (`fail_next: {count, status}`). The
        whole change is checked before it replaces the current settings."""
        changes = dict(changes)
        fail_next = changes.pop("fail_next", None)
        if isinstance(fail_next, dict):
            changes["fail_next_count"] = fail_next.get("count", 1)
            changes["fail_next_status"] = fail_next.get("status", 503)
        known = {f.name for f in fields(self.settings_class)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        updated = replace(self.settings)
        for name, value in changes.items():
            is_rate = name.endswith("_rate")
            number = float(value) if is_rate else int(value)
            if is_rate and not 0 <= number <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
            if number < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(updated, name, number)
        if not 400 <= updated.fail_next_status <= 599:
            raise ValueError("fail_next status must be a 4xx or 5xx code")
        self.settings = updated
        return updated

    def next_fault(self) -> Fault | None:
        s = self.settings
        if s.burst_429:
            s.burst_429 -= 1
            return Fault("rate_limited", 429)
        if s.fail_next_count:
            s.fail_next_count -= 1
            if s.fail_next_status == 429:
                return Fault("rate_limited", 429)
            return Fault("status", s.fail_next_status)
        if s.timeout_rate and self.random.random() < s.timeout_rate:
            return Fault("timeout")
        if s.error_rate and self.random.random() < s.error_rate:
            return Fault("status", self.random.choice((500, 503)))
        return None

    def take_drop(self) -> bool:
        if self.settings.drop_response_next:
            self.settings.drop_response_next -= 1
            return True
        return False
