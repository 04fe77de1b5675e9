"""XeroEmulator: a WSGI application speaking Xero's wire format, with all state in memory.

A call to the Accounting API goes through, in order: routing, bearer token (401), tenant
header and connection (403), injected faults, rate limits (429), optional latency, then the
handler under the emulator's lock with idempotency replay, then an optional lost response.
The control API (`/_emulator/...`) and the Python methods below drive the emulator in tests.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import fields

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
from .ledger import Ledger
from .limits import RateLimiter, RateLimits
from .models import Invoice, Tenant
from .oauth import DEFAULT_SCOPE, BearerError, OAuthServer
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


class XeroEmulator(LedgerEmulator):
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

    # --- lookups ----------------------------------------------------------------------------

    @property
    def default_tenant_id(self) -> str:
        """The tenant the emulator starts with ("Demo Company (Emulated)")."""
        with self._lock:
            return next(iter(self.tenants))

    def tenant_names(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(t.tenant_id, t.name) for t in self.tenants.values()]

    def _tenant(self, tenant_id: str | None) -> Tenant:
        tenant = self.tenants.get(tenant_id or self.default_tenant_id)
        if tenant is None:
            raise KeyError(f"unknown tenant '{tenant_id}'")
        return tenant

    def _find_invoice(self, invoice_id: str) -> tuple[Tenant, Invoice]:
        for tenant in self.tenants.values():
            if invoice_id in tenant.invoices:
                return tenant, tenant.invoices[invoice_id]
        raise KeyError(f"unknown invoice '{invoice_id}'")

    def invoice(self, invoice_id: str) -> dict:
        """An invoice as the API would return it (any tenant)."""
        with self._lock:
            tenant, invoice = self._find_invoice(invoice_id)
            return wire.invoice_json(tenant, invoice, strict=self.config.spec_strict)

    def invoices(self, tenant_id: str | None = None) -> list[dict]:
        with self._lock:
            tenant = self._tenant(tenant_id)
            strict = self.config.spec_strict
            return [wire.invoice_json(tenant, i, strict=strict) for i in tenant.invoices.values()]

    def bank_transactions(self, tenant_id: str | None = None) -> list[dict]:
        """Spend and receive money as the API would return them."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            return [
                wire.bank_transaction_json(tenant, t, strict=self.config.spec_strict)
                for t in tenant.bank_transactions.values()
            ]

    def writes(self, tenant_id: str | None = None, since: float | None = None) -> list[dict]:
        """The tenant's write log, oldest first: every invoice or payment write as it was
        applied, with `at` (epoch seconds of the emulator's clock) and the values it left."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            return [dict(w) for w in tenant.writes if since is None or w["at"] >= since]

    def call_count(self, tenant_id: str | None = None) -> int:
        """Accounting API calls admitted for a tenant (refused 429s and faults not counted)."""
        with self._lock:
            return self.limiter.accepted[tenant_id or self.default_tenant_id]

    # --- control API (each also at /_emulator/...) ----------------------------------------

    def reset(self, *, keep_auth: bool = False) -> None:
        """Back to the seeded demo company; also forgets tokens and connections unless
        keep_auth (handy when a running app stays connected across benchmark runs)."""
        with self._lock:
            self._seed()
            self.limiter.limits = self._configured_limits()
            self.limiter.reset()
            self.idempotency.reset()
            self.faults.clear()
            self.requests.clear()
            self.lapsed_tenants.clear()
            if not keep_auth:
                self.oauth.reset()

    def state(self) -> dict:
        with self._lock:
            strict = self.config.spec_strict
            tenants = []
            for tenant in self.tenants.values():
                tenants.append(
                    {
                        "tenantId": tenant.tenant_id,
                        "tenantName": tenant.name,
                        "lockDate": tenant.lock_date.isoformat() if tenant.lock_date else None,
                        "endOfYearLockDate": tenant.end_of_year_lock_date.isoformat()
                        if tenant.end_of_year_lock_date
                        else None,
                        "calls": self.limiter.accepted[tenant.tenant_id],
                        "refusedCalls": self.limiter.refused[tenant.tenant_id],
                        "invoices": [
                            wire.invoice_json(tenant, i, strict=strict)
                            for i in tenant.invoices.values()
                        ],
                        "payments": [
                            wire.payment_json(tenant, p, strict=strict)
                            for p in tenant.payments.values()
                        ],
                        "contacts": [wire.contact_json(c) for c in tenant.contacts.values()],
                        "attachments": [
                            {
                                "InvoiceID": i.invoice_id,
                                "AttachmentID": a.attachment_id,
                                "FileName": a.file_name,
                                "MimeType": a.mime_type,
                                "ContentLength": len(a.content),
                            }
                            for i in tenant.invoices.values()
                            for a in i.attachments
                        ],
                    }
                )
            return {
                "tenants": tenants,
                "calls": {t["tenantId"]: t["calls"] for t in tenants},
                "connections": [
                    {
                        "id": c.id,
                        "tenantId": c.tenant_id,
                        "authEventId": c.auth_event_id,
                        "userId": c.user_id,
                    }
                    for c in self.oauth.store.connections.values()
                ],
                "users": [
                    {"userId": u.user_id, "email": u.email, "tenantIds": u.tenant_ids}
                    for u in self.oauth.store.users.values()
                ],
                "faults": self.faults.settings.as_dict(),
                "rateLimits": self.limiter.limits.as_dict(),
                "idempotencyKeys": len(self.idempotency),
                "requests": list(self.requests),
            }

    def add_user(self, email: str, tenant_ids: list[str] | None = None) -> dict:
        """A Xero user who may access only these tenants (None: every tenant); the consent
        page then asks who signs in."""
        with self._lock:
            unknown = [t for t in tenant_ids or () if t not in self.tenants]
            if unknown:
                raise KeyError(f"unknown tenant(s): {', '.join(unknown)}")
            user = self.oauth.add_user(email, None if tenant_ids is None else list(tenant_ids))
            return {"userId": user.user_id, "email": user.email, "tenantIds": user.tenant_ids}

    def add_tenant(self, name: str) -> dict:
        """Another organisation; connect it with a new consent (or `connect()`)."""
        with self._lock:
            tenant = build_tenant(
                name,
                now=self.clock(),
                base_currency=self.config.base_currency,
                tenant_id=str(uuid.uuid4()),
            )
            self.tenants[tenant.tenant_id] = tenant
            return {"tenantId": tenant.tenant_id, "tenantName": tenant.name}

    def delete_tenant(self, tenant_id: str | None = None) -> dict:
        """The organisation is deleted in Xero: its connections go (GET /connections no longer
        lists it) and every call for it answers 403."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            del self.tenants[tenant.tenant_id]
            self.lapsed_tenants.discard(tenant.tenant_id)
            return {"tenantId": tenant.tenant_id, "deleted": True}

    def set_subscription(self, tenant_id: str | None = None, *, active: bool) -> dict:
        """The organisation's subscription (or free trial) ends, or is renewed: while it is
        lapsed, calls for it answer 403 and /connections still lists it."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            if active:
                self.lapsed_tenants.discard(tenant.tenant_id)
            else:
                self.lapsed_tenants.add(tenant.tenant_id)
            return {"tenantId": tenant.tenant_id, "active": active}

    def book_invoice(self, invoice_id: str, paid_on=None) -> dict:
        """Someone pays the bill in Xero: a payment of the whole amount due (PAID)."""
        with self._lock:
            tenant, invoice = self._find_invoice(invoice_id)
            paid_on = wire.parse_date(paid_on) if paid_on else None
            self._ledger(tenant).book(invoice, paid_on)
            return wire.invoice_json(tenant, invoice, strict=self.config.spec_strict)

    def void_invoice(self, invoice_id: str) -> dict:
        """Someone voids the invoice in Xero (its payments are removed first)."""
        with self._lock:
            tenant, invoice = self._find_invoice(invoice_id)
            self._ledger(tenant).void(invoice)
            return wire.invoice_json(tenant, invoice, strict=self.config.spec_strict)

    def delete_payment(self, payment_id: str) -> dict:
        """Someone deletes a payment in Xero: the invoice owes its amount again."""
        with self._lock:
            tenant = next(t for t in self.tenants.values() if payment_id in t.payments)
            payment = self._ledger(tenant).delete_payment(tenant.payments[payment_id])
            return wire.payment_json(tenant, payment, strict=self.config.spec_strict)

    def edit_invoice(self, invoice_id: str, changes: dict) -> dict:
        """Someone edits the invoice in Xero (drift): Xero-shaped fields such as DueDate,
        Reference, LineItems or Status, applied without the API's editability rules."""
        with self._lock:
            tenant, invoice = self._find_invoice(invoice_id)
            self._ledger(tenant).edit_behind_back(invoice, changes)
            return wire.invoice_json(tenant, invoice, strict=self.config.spec_strict)

    def set_lock_date(
        self, tenant_id: str | None = None, lock_date=None, *, end_of_year: bool = False
    ) -> None:
        """Period lock date, or with `end_of_year` the end of year lock date (date or
        "YYYY-MM-DD"; None clears it). Documents dated on or before the later of the two
        cannot be approved, changed or paid."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            if lock_date is not None and not hasattr(lock_date, "isoformat"):
                lock_date = wire.parse_date(lock_date)
            if end_of_year:
                tenant.end_of_year_lock_date = lock_date
            else:
                tenant.lock_date = lock_date

    def set_rate_limits(self, **limits) -> dict:
        """Change calls_per_window, window_seconds, max_concurrent, calls_per_day,
        app_calls_per_minute; counters already running are kept."""
        known = {f.name for f in fields(RateLimits)}
        unknown = set(limits) - known
        if unknown:
            raise ValueError(f"unknown rate limit(s): {', '.join(sorted(unknown))}")
        if any(not isinstance(v, int | float) or v <= 0 for v in limits.values()):
            raise ValueError("rate limits must be positive numbers")
        with self._lock:
            for name, value in limits.items():
                setattr(self.limiter.limits, name, value)
            return self.limiter.limits.as_dict()

    def rate_limits(self) -> dict:
        with self._lock:
            return self.limiter.limits.as_dict()

    def connect(
        self,
        *,
        tenant_ids: list[str] | None = None,
        scope: str = DEFAULT_SCOPE,
        user: str | None = None,
    ) -> dict:
        """Consent without a browser: the user (email; default the demo user) connects the
        tenants (default: all they may access) to the configured client; returns the token
        endpoint's answer (access_token, refresh_token, ...)."""
        with self._lock:
            account = self.oauth.user_by_email(user)
            if tenant_ids is None:
                tenant_ids = [t for t in self.tenants if self.oauth.may_access(account, t)]
            unknown = [t for t in tenant_ids if not self.oauth.may_access(account, t)]
            if unknown:
                raise KeyError(f"unknown tenant(s): {', '.join(unknown)}")
            return self.oauth.connect(self.config.client_id, scope, tenant_ids, account.user_id)

    def _ledger(self, tenant: Tenant) -> Ledger:
        return Ledger(
            tenant,
            self.clock(),
            reject_due_date_before_date=self.config.reject_due_date_before_date,
        )
