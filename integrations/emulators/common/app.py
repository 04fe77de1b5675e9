"""The base of every ledger emulator's WSGI application: its lock, clock, request log, injected
faults and the simulated timeouts and latency they cause, and the control methods they share.

A subclass sets `label` ("Xero emulator"), says how its ledger answers a call given up on
(`_timeout_response`), seeds its ledger (`_seed`) and clears its own counters on a reset
(`_reset_ledger`). Its requests are answered by `__call__`: the control API under /_emulator/
(`_control`), the ledger's API under `api_prefix` (`_api`), the OAuth paths of `oauth_routes`
(each under the lock), 404 (`_not_found`) for anything else; a ledger whose paths do not fit
that (Xero) answers in a `__call__` of its own.
"""

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import fields

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

    api_prefix = ""  # the ledger's API: "/v3/company/"
    # (path, method) -> handler(emulator, request) of the OAuth pages and endpoints
    oauth_routes: dict[tuple[str, str], Callable] = {}

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path.startswith("/_emulator/"):
            response = self._control(request)
        elif path.startswith(self.api_prefix):
            response = self._api(request)
        elif (path, request.method) in self.oauth_routes:
            with self._lock:
                response = self.oauth_routes[path, request.method](self, request)
        else:
            response = self._not_found(path)
        return response(environ, start_response)

    def _control(self, request: Request) -> Response:
        raise NotImplementedError

    def _api(self, request: Request) -> Response:
        raise NotImplementedError

    def _not_found(self, path: str) -> Response:
        raise NotImplementedError

    def _seed(self) -> None:
        raise NotImplementedError

    def _reset_ledger(self) -> None:
        """Forget what the ledger's limits counted and the answers it keeps for replays."""
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

    def add_company(self, name: str) -> dict:
        """Another company (Xero's tenant, QuickBooks' realm, MYOB's company file)."""
        raise NotImplementedError

    def company_names(self) -> list[tuple[str, str]]:
        """(id, name) of each company the emulator holds."""
        raise NotImplementedError

    def reset(self, keep_auth: bool = False) -> None:
        """Back to the seeded ledger, with no faults, counters or request log; also forgets
        tokens and connections unless keep_auth (a running app stays connected across
        benchmark runs)."""
        with self._lock:
            self._seed()
            self._reset_ledger()
            self.faults.clear()
            self.requests.clear()
            if not keep_auth:
                self.oauth.reset()

    def _limits_changed(self, limits, changes: dict, *, what: str, integers: bool) -> dict:
        """Set some fields of `limits` (a dataclass with as_dict()), counters already running
        kept; ValueError for a field it does not have or a value that is not a positive number
        (an integer where `integers`). `what` names a field in the messages ("throttle")."""
        unknown = set(changes) - {f.name for f in fields(limits)}
        if unknown:
            raise ValueError(f"unknown {what}(s): {', '.join(sorted(unknown))}")
        if integers:
            valid = [
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in changes.values()
            ]
        else:
            valid = [isinstance(v, int | float) and v > 0 for v in changes.values()]
        if not all(valid):
            raise ValueError(f"{what}s must be positive {'integers' if integers else 'numbers'}")
        with self._lock:
            for name, value in changes.items():
                setattr(limits, name, value)
            return limits.as_dict()

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
