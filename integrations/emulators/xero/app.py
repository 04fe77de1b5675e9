"""XeroEmulator: a WSGI application speaking Xero's wire format, with all state in memory.

A call to the Accounting API goes through, in order: routing, bearer token (401), tenant
header and connection (403), injected faults, rate limits (429), optional latency, then the
handler under the emulator's lock with idempotency replay, then an optional lost response.
The control API (`/_emulator/...`) and the Python methods of operations.py drive the emulator
in tests.
"""

import time
from collections.abc import Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect
from werkzeug.wrappers import Request, Response

from ..common import control as common_control
from ..common.app import LedgerEmulator
from . import api, control, wire
from .api_call import ApiCall
from .config import EmulatorConfig
from .faults import Fault, XeroFaults
from .idempotency import MAX_KEY_LENGTH, IdempotencyStore, StoredResponse, fingerprint
from .identity import CONNECTION_ROUTES, OAUTH_ROUTES, bearer_failure
from .limits import RateLimiter, RateLimits
from .models import Tenant
from .oauth import BearerError, OAuthServer
from .operations import XeroOperations
from .responses import (
    forbidden,
    injected_failure,
    json_response,
    not_found,
    rate_limited,
    validation_failed,
)
from .seed import build_tenant


def _url_map(rules) -> Map:
    return Map([rule.empty() for rule in rules])  # a rule binds to one map: copy per emulator


class XeroEmulator(XeroOperations, LedgerEmulator):
    label = "Xero emulator"
    faults_class = XeroFaults

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config or EmulatorConfig(), clock=clock)
        self.limiter = RateLimiter(self._configured_limits(), clock)
        self.idempotency = IdempotencyStore(self.config.idempotency_ttl, clock)
        self.oauth = OAuthServer(self.config, clock, tenant_exists=lambda t: t in self.tenants)
        self.tenants: dict[str, Tenant] = {}
        # Tenants still connected but no longer active (subscription or free trial ended).
        self.lapsed_tenants: set[str] = set()
        self._api_urls = _url_map(api.ROUTES)
        self._connection_urls = _url_map(CONNECTION_ROUTES)
        self._oauth_urls = _url_map(OAUTH_ROUTES)
        self._control_urls = _url_map(control.ROUTES)
        self._seed()

    def _configured_limits(self) -> RateLimits:
        c = self.config
        return RateLimits(
            c.calls_per_window,
            c.window_seconds,
            c.max_concurrent,
            c.calls_per_day,
            c.app_calls_per_minute,
        )

    def _seed(self) -> None:
        demo = build_tenant(
            self.config.tenant_name, now=self.clock(), base_currency=self.config.base_currency
        )
        self.tenants = {demo.tenant_id: demo}

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path.startswith("/_emulator/"):
            response = self._control(request)
        elif path.startswith(api.PREFIX + "/"):
            response = self._accounting(request)
        elif path.lower().startswith("/connections"):
            response = self._connections(request)
        else:
            response = self._identity(request)
        return response(environ, start_response)

    @staticmethod
    def _match(urls: Map, request: Request):
        try:
            return urls.bind_to_environ(request.environ).match()
        except RequestRedirect as exc:
            return exc.get_response(request.environ)
        except MethodNotAllowed:
            detail = f"{request.method} is not allowed on {request.path}"
            return json_response(wire.problem(405, "Method Not Allowed", detail), 405)
        except NotFound:
            return not_found()

    def _identity(self, request: Request) -> Response:
        matched = self._match(self._oauth_urls, request)
        if isinstance(matched, Response):
            return matched
        handler, args = matched
        with self._lock:
            return handler(self, request, **args)

    def _control(self, request: Request) -> Response:
        matched = self._match(self._control_urls, request)
        if isinstance(matched, Response):
            return matched
        handler, args = matched
        return common_control.handle(self, request, handler, args, respond=json_response)

    def _connections(self, request: Request) -> Response:
        matched = self._match(self._connection_urls, request)
        if isinstance(matched, Response):
            return matched
        handler, args = matched
        with self._lock:
            try:
                access = self.oauth.access(request.headers.get("Authorization"))
            except BearerError as exc:
                return self._logged(request, None, bearer_failure(exc))
            fault = self.faults.next_fault()
        if fault:
            return self._logged(request, None, self._fault_response(request, fault, None))
        self._pause()
        with self._lock:
            response = handler(self, request, access, **args)
        return self._logged(request, None, response)

    def _accounting(self, request: Request) -> Response:
        matched = self._match(self._api_urls, request)
        if isinstance(matched, Response):
            return matched
        handler, args = matched
        tenant_id = request.headers.get("xero-tenant-id", "").strip()
        with self._lock:
            try:
                access = self.oauth.access(request.headers.get("Authorization"))
            except BearerError as exc:
                return self._logged(request, tenant_id, bearer_failure(exc))
            if tenant_id not in self.tenants or not self.oauth.is_connected(access, tenant_id):
                return self._logged(request, tenant_id, forbidden())
            if tenant_id in self.lapsed_tenants:
                # Xero: "the tenant is no longer active … the free trial has ended" answers
                # 403 like a tenant that is not connected, while /connections still lists it.
                return self._logged(request, tenant_id, forbidden())
            # Injected faults come first and are not counted against the limits.
            fault = self.faults.next_fault()
            admission = None if fault else self.limiter.admit(tenant_id)
        if fault:
            return self._logged(request, tenant_id, self._fault_response(request, fault, tenant_id))
        if not admission.allowed:
            return self._logged(request, tenant_id, rate_limited(admission.headers))
        try:
            self._pause()
            with self._lock:
                tenant = self.tenants.get(tenant_id)
                if tenant is None:  # reset while this call waited
                    response = forbidden()
                else:
                    call = self._api_call(request, tenant)
                    response = self._idempotent(request, tenant_id, lambda: handler(call, **args))
                # Only a write has an outcome to lose: reads pass through untouched.
                dropped = request.method != "GET" and self.faults.take_drop()
        finally:
            with self._lock:
                self.limiter.release(tenant_id)
        response.headers.update(admission.headers)
        self._logged(request, tenant_id, response, dropped=dropped)
        if dropped:
            return self._lose_response(request, applied=True, response=response)
        return response

    def _api_call(self, request: Request, tenant: Tenant) -> ApiCall:
        return ApiCall(
            request=request,
            tenant=tenant,
            now=self.clock(),
            strict=self.config.spec_strict,
            provider=self.config.provider_name,
            reject_due_date_before_date=self.config.reject_due_date_before_date,
        )

    def _idempotent(self, request: Request, tenant_id: str, run) -> Response:
        """Replay the stored answer to a retried PUT/POST (runs under the lock, so two retries
        racing each other still save once)."""
        key = request.headers.get("Idempotency-Key")
        if request.method not in ("PUT", "POST") or not key:
            return run()
        if len(key) > MAX_KEY_LENGTH:
            return validation_failed(["The Idempotency-Key header is limited to 128 characters"])
        this_request = fingerprint(
            request.method, request.path, request.query_string.decode(), request.get_data()
        )
        stored = self.idempotency.find(tenant_id, key)
        if stored is not None:
            if stored.fingerprint != this_request:
                message = (
                    f"The Idempotency-Key '{key}' was already used for a different request; "
                    "use a new key for a new request"
                )
                return json_response({"Type": "IdempotencyKeyConflict", "Message": message}, 409)
            content_type = [("Content-Type", stored.headers[0][1])] if stored.headers else []
            return Response(stored.body, status=stored.status, headers=content_type)
        response = run()
        if response.status_code < 500:
            headers = [("Content-Type", response.content_type)]
            stored = StoredResponse(
                this_request, response.status_code, headers, response.get_data(), self.clock()
            )
            self.idempotency.remember(tenant_id, key, stored)
        return response

    def _fault_response(self, request: Request, fault: Fault, tenant_id: str | None) -> Response:
        if fault.kind == "timeout":
            self._logged(request, tenant_id, None)
            return self._lose_response(request, applied=False)
        with self._lock:
            headers = self.limiter.headers(tenant_id) if tenant_id else {}
        if fault.kind == "rate_limited":
            return rate_limited({**headers, "Retry-After": "1", "X-Rate-Limit-Problem": "minute"})
        response = injected_failure(fault.status)
        response.headers.update(headers)
        return response

    def _timeout_response(self) -> Response:
        detail = "The emulator simulated a timeout"
        return json_response(wire.problem(504, "Gateway Timeout", detail), 504)

    def _logged(self, request, tenant_id, response: Response | None, *, dropped=False):
        return self._log_call(
            request,
            response,
            dropped=dropped,
            tenantId=tenant_id or None,
            idempotencyKey=request.headers.get("Idempotency-Key"),
        )

    def _reset_ledger(self) -> None:
        self.limiter.limits = self._configured_limits()
        self.limiter.reset()
        self.idempotency.reset()
        self.lapsed_tenants.clear()
