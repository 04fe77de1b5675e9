"""The base of every ledger emulator's WSGI application: its lock, clock, request log, injected
faults and the simulated timeouts and latency they cause, and the control methods they share.

A subclass sets `label` ("Xero emulator"), answers requests in `__call__` and says how its ledger
answers a call given up on (`_timeout_response`).
"""

import threading
import time
from collections import deque
from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from .faults import Faults

# Set by EmulatorTransport: a simulated timeout then raises instead of holding a socket open.
IN_PROCESS_KEY = "ledger_emulator.in_process"
REQUEST_LOG_SIZE = 1000  # calls kept for state()["requests"]


class SimulatedTimeout(Exception):
    """The emulator decided this call never gets an answer (`applied`: the write happened)."""

    def __init__(self, applied: bool, label: str = "ledger emulator") -> None:
        self.applied = applied
        what = "after applying the request" if applied else "without applying the request"
        super().__init__(f"{label}: simulated timeout {what}")


class LedgerEmulator:
    label = "ledger emulator"
    faults_class: type[Faults] = Faults  # a ledger with faults of its own subclasses Faults

    def __init__(self, config, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        # Set when a server shuts down: wakes calls sleeping through a latency or timeout fault.
        self.shutdown_event = threading.Event()
        self.faults = self.faults_class(config.random_seed)
        self.requests: deque[dict] = deque(maxlen=REQUEST_LOG_SIZE)

    def __call__(self, environ, start_response):
        raise NotImplementedError

    def _timeout_response(self) -> Response:
        """What the ledger's gateway answers once it gives up on a call (over a socket)."""
        raise NotImplementedError

    def _pause(self) -> None:
        latency_ms = self.faults.settings.latency_ms
        if latency_ms:
            self.shutdown_event.wait(latency_ms / 1000)

    def _lose_response(self, request: Request, *, applied: bool, response=None) -> Response:
        """A call that gets no answer: in process it raises SimulatedTimeout (the transport turns
        it into httpx.ReadTimeout); over a socket it holds the connection past any sane client
        timeout (or until the server stops), then answers."""
        if request.environ.get(IN_PROCESS_KEY):
            raise SimulatedTimeout(applied, self.label)
        self.shutdown_event.wait(self.config.timeout_sleep_seconds)
        if response is not None:
            return response
        return self._timeout_response()

    def _log_call(self, request: Request, response: Response | None, *, dropped=False, **details):
        """Note an API call for `state()["requests"]` (the last REQUEST_LOG_SIZE): `details` are
        the ledger's own fields (its company id, idempotency key); response None = a simulated
        timeout. Returns the response."""
        with self._lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode(),
                    **details,
                    "status": response.status_code if response is not None else None,
                    "timedOut": response is None,
                    "responseDropped": dropped,
                    "at": self.clock(),
                }
            )
        return response

    # --- control API shared by every ledger (each also at /_emulator/...) ----------------------

    def logged_requests(self, since: float | None = None) -> list[dict]:
        """The logged calls (the last REQUEST_LOG_SIZE), those at or after `since` if given."""
        with self._lock:
            return [dict(r) for r in self.requests if since is None or r["at"] >= since]

    def set_faults(self, **settings) -> dict:
        """Merge fault settings: error_rate, latency_ms, timeout_rate, fail_next={count, status}
        (or fail_next_count/fail_next_status), burst_429, drop_response_next, and the ledger's
        own (its FaultSettings subclass)."""
        with self._lock:
            return self.faults.update(settings).as_dict()

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def fault_settings(self) -> dict:
        with self._lock:
            return self.faults.settings.as_dict()

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens still work)."""
        with self._lock:
            self.oauth.expire_access_tokens()

    def revoke_tokens(self) -> None:
        """Every access and refresh token stops working: the user must consent again."""
        with self._lock:
            self.oauth.revoke_all()
