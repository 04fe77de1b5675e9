"""Settings of the QBO emulator and a hand-driven clock for tests."""

import threading
import time
from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    client_id: str = "ledgersync-qbo-dev"
    client_secret: str = "ledgersync-qbo-dev-secret"
    # Empty: any http(s) redirect URI is accepted (a dev app); else only these.
    redirect_uris: tuple[str, ...] = ()

    access_token_ttl: int = 3600  # Intuit: one hour
    refresh_token_ttl: int = 100 * 24 * 3600  # Intuit: rolling 100 days
    # Intuit (2025-11): a refresh token chain ends five years after the consent, whatever the use.
    refresh_token_max_age: int = 5 * 365 * 24 * 3600
    authorization_code_ttl: int = 300

    # Intuit's throttles (developer.intuit.com "API call limits and throttles").
    calls_per_minute: int = 500  # per realm, batch requests included
    calls_per_second: int = 10  # per realm and app
    batch_calls_per_minute: int = 40  # per realm and app
    max_batch_items: int = 30

    # `requestid` answers are kept this long (Intuit does not publish its window).
    requestid_ttl: float = 24 * 3600
    # A lost answer over a socket: how long the handler holds the connection before giving up.
    timeout_sleep_seconds: float = 30.0

    company_name: str = "Sandbox Company (Emulated)"
    # Intuit retired minor versions 1-74 on 2025-08-01: lower ones are refused.
    min_minorversion: int = 75
    max_minorversion: int = 75
    random_seed: int | None = None


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
