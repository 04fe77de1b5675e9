"""What tests, benchmarks and the demo do to the Xero emulator from outside its API: look at its
ledgers, add tenants and users, act as someone working in Xero itself (book, void, edit, delete a
payment), move lock dates and limits. Each is also at /_emulator/... (control.py); `XeroEmulator`
(app.py) answers the API calls."""

import uuid

from . import wire
from .ledger import Ledger
from .models import Invoice, Tenant
from .oauth import DEFAULT_SCOPE
from .seed import build_tenant


class XeroOperations:
    """The XeroEmulator's methods for its control API (a part of XeroEmulator: its lock, clock,
    config, tenants, limiter, oauth)."""

    # --- lookups ----------------------------------------------------------------------------

    @property
    def default_tenant_id(self) -> str:
        """The tenant the emulator starts with ("Demo Company (Emulated)")."""
        with self._lock:
            return next(iter(self.tenants))

    def company_names(self) -> list[tuple[str, str]]:
        """(tenant id, name) of each organisation."""
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

    def add_company(self, name: str) -> dict:
        return self.add_tenant(name)

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
        return self._limits_changed(self.limiter.limits, limits, what="rate limit", integers=False)

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
