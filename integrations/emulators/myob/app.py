"""MyobEmulator: a WSGI application speaking the MYOB Business API (AccountRight v2), state in
memory.

An API call under `/accountright/{businessId}/` goes through, in order: `x-myobapi-key` (403
DeveloperInactive), `x-myobapi-version: v2`, the bearer token (401), the token's company file
against the path's (403), a locked or offline company file (423), injected faults, the key's
limits (429 per second, 403 per day, every company file together), optional latency, then the
handler under the emulator's lock, then an optional lost answer. The control API
(`/_emulator/...`) and the Python methods drive it in tests.
"""

import datetime
import json
import time
from collections.abc import Callable

from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from ..common.app import LedgerEmulator
from . import control, oauth
from .books import Books
from .company import (
    ATTACHABLE,
    BILLS,
    CUSTOMER_PAYMENTS,
    CUSTOMERS,
    PAYMENTS,
    RESOURCES,
    SPEND_MONEY,
    SUPPLIER_PAYMENTS,
    SUPPLIERS,
    TRANSACTIONS,
    CompanyFile,
    MyobError,
    parse_date,
    split_path,
    wire_date,
)
from .config import EmulatorConfig
from .limits import KeyLimits, KeyMeter
from .odata import FilterError, compile_filter
from .seed import build_company_file
from .wire import error_response, json_response, request_json

PREFIX = "/accountright/"
DEFAULT_PAGE = 400  # NOTES.md: 400 by default, at most 1000 with $top
MAX_PAGE = 1000
FIRST_FILE = "3f9c8a52-0d5e-4c1b-9a77-5b2d7e1c4a01"
CONTACTS = (SUPPLIERS, CUSTOMERS)


class MyobEmulator(LedgerEmulator):
    label = "MYOB emulator"

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config or EmulatorConfig(), clock=clock)
        self.oauth = oauth.OAuthServer(self.config, clock)
        self.meter = KeyMeter(self._configured_limits(), clock)
        self.company_files: dict[str, CompanyFile] = {}
        self.routes = Map(control.rules())
        self._seed()

    def _configured_limits(self) -> KeyLimits:
        return KeyLimits(self.config.calls_per_second, self.config.calls_per_day)

    def _seed(self) -> None:
        self.company_files = {
            FIRST_FILE: build_company_file(
                FIRST_FILE, self.config.company_name, PREFIX + FIRST_FILE
            )
        }

    # --- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path.startswith("/_emulator/"):
            response = control.handle(self, request)
        elif path.startswith(PREFIX):
            response = self._api(request)
        elif path == "/oauth2/account/authorize" and request.method in ("GET", "POST"):
            with self._lock:
                response = oauth.authorize(self, request)
        elif path == "/oauth2/v1/authorize" and request.method == "POST":
            with self._lock:
                response = oauth.token(self, request)
        else:
            response = json_response({"error": "not found", "path": path}, 404)
        return response(environ, start_response)

    def _timeout_response(self) -> Response:
        return error_response(504, "GatewayTimeout", "Connection to the API has timed out")

    def _api(self, request: Request) -> Response:
        business_id, _, rest = request.path[len(PREFIX) :].partition("/")
        business_id = business_id.lower()
        api_key = request.headers.get("x-myobapi-key", "")
        with self._lock:
            refusal = self._refusal(request, business_id, api_key)
            injected = throttled = None
            if refusal is None:
                injected = self.faults.next_fault()
                if injected is None:
                    throttled = self.meter.admit(api_key, business_id)
        if refusal is not None:
            return self._logged(request, business_id, refusal)
        if injected is not None and injected.kind == "timeout":
            self._logged(request, business_id, None)
            return self._lose_response(request, applied=False)
        if (injected is not None and injected.kind == "rate_limited") or throttled == "second":
            response = error_response(
                429,
                "RateLimitError",
                "API key has exceeded the per-second rate limit",
                details="Header: x-myobapi-key",
            )
            return self._logged(request, business_id, response)
        if throttled == "day":
            response = error_response(
                403,
                "RateLimitError",
                "API key has exceeded the daily rate limit",
                details="Header: x-myobapi-key",
            )
            return self._logged(request, business_id, response)
        if injected is not None:
            response = error_response(
                injected.status, "InternalServerError", "The emulator injected a server error"
            )
            return self._logged(request, business_id, response)
        self._pause()
        with self._lock:
            company = self.company_files.get(business_id)
            if company is None:  # reset while this call waited
                response = error_response(403, "AccessDenied", "No access to this company file")
            else:
                response = self._run(request, company, rest.strip("/"))
            dropped = request.method in ("POST", "PUT") and self.faults.take_drop()
        self._logged(request, business_id, response, dropped=dropped)
        if dropped:
            return self._lose_response(request, applied=True, response=response)
        return response

    def _refusal(self, request: Request, business_id: str, api_key: str) -> Response | None:
        if api_key != self.config.client_id:
            return error_response(403, "DeveloperInactive", "API key is missing or inactive")
        if request.headers.get("x-myobapi-version") != "v2":
            return error_response(
                400, "InvalidVersion", "x-myobapi-version must be v2", details="Header"
            )
        try:
            grant = self.oauth.access(request.headers.get("Authorization"))
        except oauth.BearerError:
            return error_response(
                401, "OAuthTokenIsInvalid", "The supplied OAuth token (Bearer) is not valid"
            )
        company = self.company_files.get(business_id)
        if grant.business_id != business_id or company is None:
            return error_response(
                403, "AccessDenied", "The user has no access to this company file"
            )
        if company.locked:
            return error_response(
                423,
                "CompanyFileLocked",
                "The company file is offline or in use exclusively; try again later",
            )
        return None

    def _run(self, request: Request, company: CompanyFile, rest: str) -> Response:
        books = Books(company, self.clock())
        try:
            return self._route(request, books, rest)
        except MyobError as error:
            return json_response(error.body(), error.status)

    def _route(self, request: Request, books: Books, rest: str) -> Response:
        method = request.method
        if rest == "Company" and method == "GET":
            return json_response(
                {
                    "CompanyName": books.company.name,
                    "SerialNumber": books.company.uid[:12],
                    "URI": self._absolute(request, books.company.base),
                }
            )
        if rest == "Company/Preferences" and method == "GET":
            return json_response(company_preferences(books.company))
        resource, uid, attachment = split_path(rest)
        if resource is None:
            raise MyobError(404, "ResourceNotFound", f"No endpoint {rest}")
        if attachment:
            if resource not in ATTACHABLE:
                raise MyobError(404, "ResourceNotFound", f"No endpoint {rest}")
            if method == "POST":
                return self._present(
                    request, books.attach(resource, uid, request_json(request)), 200
                )
            if method == "GET":
                return self._present(request, books.attachments(resource, uid))
            raise MyobError(405, "MethodNotAllowed", f"{method} is not supported here")
        if method == "GET":
            if uid:
                return self._present(request, _visible(resource, books.record(resource, uid)))
            return self._collection(request, books, resource)
        if method == "POST" and not uid:
            body = request_json(request)
            if resource in TRANSACTIONS:
                record = books.create_transaction(resource, body)
            elif resource in (SUPPLIER_PAYMENTS, CUSTOMER_PAYMENTS):
                record = books.create_payment(resource, body)
            elif resource == SPEND_MONEY:
                record = books.create_spend(body)
            else:
                raise MyobError(405, "MethodNotAllowed", f"POST is not supported on {resource}")
            return self._written(request, record, 201)
        if method == "PUT" and uid and resource in TRANSACTIONS:
            record = books.update_transaction(resource, uid, request_json(request))
            return self._written(request, record, 200)
        if method == "PUT" and uid and resource == SPEND_MONEY:
            return self._written(request, books.update_spend(uid, request_json(request)), 200)
        if method == "DELETE" and uid:
            if resource in TRANSACTIONS:
                books.delete_transaction(resource, uid)
            elif resource in PAYMENTS.values():
                books.delete_payment(resource, uid)
            elif resource == SPEND_MONEY:
                books.delete_spend(uid)
            else:
                raise MyobError(405, "MethodNotAllowed", f"DELETE is not supported on {resource}")
            return Response(b"", 200)
        raise MyobError(405, "MethodNotAllowed", f"{method} is not supported here")

    def _written(self, request: Request, record: dict, status: int) -> Response:
        """201/200 with `Location`; the record in the body only with `returnBody=true`."""
        location = self._absolute(request, record["URI"])
        if request.args.get("returnBody", "").lower() == "true":
            response = self._present(request, record, status)
        else:
            response = Response(b"", status)
        response.headers["Location"] = location
        return response

    def _collection(self, request: Request, books: Books, resource: str) -> Response:
        try:
            matches = compile_filter(request.args.get("$filter"))
            top = min(int(request.args.get("$top", DEFAULT_PAGE)), MAX_PAGE)
            skip = int(request.args.get("$skip", 0))
        except (FilterError, ValueError) as error:
            raise MyobError(400, "InvalidQuery", f"The query cannot be read: {error}") from None
        rows = [r for r in books.company.records[resource].values() if matches(r)]
        page = rows[skip : skip + top]
        next_link = None
        if skip + top < len(rows):
            next_link = self._absolute(
                request, f"{books.company.base}/{resource}?$top={top}&$skip={skip + top}"
            )
        body = {
            "Items": [_visible(resource, row) for row in page],
            "NextPageLink": next_link,
            "Count": len(rows),
        }
        return self._present(request, body)

    def _present(self, request: Request, body, status: int = 200) -> Response:
        """URIs are stored relative (`/accountright/...`) and answered absolute."""
        text = json.dumps(body, default=float).replace(
            f'"{PREFIX}', f'"{request.host_url.rstrip("/")}{PREFIX}'
        )
        return Response(text, status, content_type="application/json; charset=utf-8")

    @staticmethod
    def _absolute(request: Request, relative: str) -> str:
        return request.host_url.rstrip("/") + relative

    def _logged(self, request: Request, business_id: str, response, *, dropped=False):
        return self._log_call(
            request,
            response,
            dropped=dropped,
            businessId=business_id,
            apiKey=request.headers.get("x-myobapi-key", ""),
        )

    # --- control API (each also over HTTP under /_emulator/) ------------------------------------

    @property
    def default_business_id(self) -> str:
        with self._lock:
            return next(iter(self.company_files))

    def company_file_names(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(c.uid, c.name) for c in self.company_files.values()]

    def company_file(self, business_id: str | None = None) -> CompanyFile:
        company = self.company_files.get((business_id or self.default_business_id).lower())
        if company is None:
            raise KeyError(f"unknown company file '{business_id}'")
        return company

    def books(self, business_id: str | None = None) -> Books:
        return Books(self.company_file(business_id), self.clock())

    def reset(self, keep_auth: bool = False) -> None:
        with self._lock:
            self._seed()
            self.faults.clear()
            self.meter = KeyMeter(self._configured_limits(), self.clock)
            self.requests.clear()
            if not keep_auth:
                self.oauth.reset()

    def add_company_file(self, name: str) -> dict:
        with self._lock:
            uid = Books(self.company_file(), self.clock()).company.new_uid(
                "file", name, len(self.company_files)
            )
            self.company_files[uid] = build_company_file(uid, name, PREFIX + uid)
            return {"businessId": uid, "businessName": name}

    def connect(self, business_id: str | None = None, scope: str = "sme-company-file") -> dict:
        """Consent without a browser: the token answer plus `businessId` and `businessName`."""
        with self._lock:
            company = self.company_file(business_id)
            answer = self.oauth.connect(self.config.client_id, company.uid, scope)
            return {**answer, "businessId": company.uid, "businessName": company.name}

    def set_limits(self, **limits) -> dict:
        known = set(KeyLimits.__dataclass_fields__)
        unknown = set(limits) - known
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        if any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in limits.values()):
            raise ValueError("limits must be positive integers")
        with self._lock:
            for name, value in limits.items():
                setattr(self.meter.limits, name, value)
            return self.meter.limits.as_dict()

    def limits(self) -> dict:
        with self._lock:
            return {**self.meter.limits.as_dict(), **self.meter.usage()}

    def set_lock_date(self, business_id: str | None = None, date=None) -> None:
        """Lock periods up to `date` (None unlocks): transactions dated on or before it are
        refused."""
        with self._lock:
            company = self.company_file(business_id)
            company.lock_date = None if date is None else parse_date(date)

    def set_company_file_locked(self, locked: bool, business_id: str | None = None) -> None:
        with self._lock:
            self.company_file(business_id).locked = bool(locked)

    def set_must_reverse(self, must_reverse: bool, business_id: str | None = None) -> None:
        with self._lock:
            self.company_file(business_id).must_reverse = bool(must_reverse)

    def record(self, uid: str, business_id: str | None = None) -> dict:
        with self._lock:
            found = self.company_file(business_id).find(str(uid).lower())
            if found is None:
                raise KeyError(f"unknown record '{uid}'")
            return json.loads(json.dumps(_visible(*found), default=float))

    def records(self, resource: str, business_id: str | None = None) -> list[dict]:
        if resource not in RESOURCES:
            raise KeyError(f"unknown resource '{resource}'")
        with self._lock:
            rows = self.company_file(business_id).records[resource].values()
            return json.loads(json.dumps([_visible(resource, r) for r in rows], default=float))

    def edit(self, uid: str, changes: dict, business_id: str | None = None) -> dict:
        """Someone changes a record in MYOB: no rules, a new RowVersion."""
        with self._lock:
            self.books(business_id).edit(uid, changes)
        return self.record(uid, business_id)

    def set_active(self, uid: str, active: bool, business_id: str | None = None) -> dict:
        with self._lock:
            resource, _ = self._found(uid, business_id)
            key = "IsInactive" if resource == "Category" else "IsActive"
            value = not active if key == "IsInactive" else bool(active)
            return self.edit(uid, {key: value}, business_id)

    def delete(self, uid: str, business_id: str | None = None) -> None:
        """Someone deletes a record in MYOB: a transaction (its payments first), a payment (its
        bill or invoice owes the amount again), or any other record."""
        with self._lock:
            resource, record = self._found(uid, business_id)
            books = self.books(business_id)
            if resource in TRANSACTIONS:
                payment_resource = PAYMENTS[resource]
                link_key = "Purchase" if resource == BILLS else "Sale"
                for payment in list(books.company.records[payment_resource].values()):
                    if any(line[link_key]["UID"] == record["UID"] for line in payment["Lines"]):
                        books.delete_payment(payment_resource, payment["UID"])
                books.delete_transaction(resource, record["UID"])
            elif resource in PAYMENTS.values():  # the bill or invoice owes its amount again
                books.delete_payment(resource, record["UID"])
            else:
                del books.company.records[resource][record["UID"]]

    def pay(self, uid: str, date=None, business_id: str | None = None) -> dict:
        """Someone pays a bill's or invoice's balance in MYOB from the first bank account."""
        with self._lock:
            resource, record = self._found(uid, business_id)
            if resource not in TRANSACTIONS:
                raise KeyError(f"'{uid}' is not a bill or invoice")
            books = self.books(business_id)
            bank = next(
                a
                for a in books.company.records["GeneralLedger/Account"].values()
                if a["Type"] == "Bank"
            )
            party = "Supplier" if resource == BILLS else "Customer"
            link_key = "Purchase" if resource == BILLS else "Sale"
            day = date or datetime.date.fromtimestamp(self.clock(), datetime.UTC).isoformat()
            payment = books.create_payment(
                PAYMENTS[resource],
                {
                    "PayFrom" if resource == BILLS else "DepositTo": "Account",
                    "Account": {"UID": bank["UID"]},
                    party: {"UID": record[party]["UID"]},
                    "Date": f"{str(day)[:10]}T00:00:00",
                    "Memo": "Paid in MYOB",
                    "Lines": [
                        {
                            link_key: {"UID": record["UID"]},
                            "AmountApplied": record["BalanceDueAmount"],
                        }
                    ],
                },
            )
        return self.record(payment["UID"], business_id)

    def _found(self, uid: str, business_id: str | None) -> tuple[str, dict]:
        found = self.company_file(business_id).find(str(uid).lower())
        if found is None:
            raise KeyError(f"unknown record '{uid}'")
        return found

    def writes(self, business_id: str | None = None, since: float | None = None) -> list[dict]:
        with self._lock:
            files = [self.company_file(business_id)] if business_id else self.company_files.values()
            return [
                {**w, "businessId": c.uid}
                for c in files
                for w in c.writes
                if since is None or w["at"] >= since
            ]

    def state(self) -> dict:
        with self._lock:
            return {
                "companyFiles": [
                    {
                        "businessId": c.uid,
                        "businessName": c.name,
                        "lockDate": c.lock_date.isoformat() if c.lock_date else None,
                        "locked": c.locked,
                        "mustReverse": c.must_reverse,
                        "records": {
                            resource: json.loads(
                                json.dumps(
                                    [_visible(resource, r) for r in c.records[resource].values()],
                                    default=float,
                                )
                            )
                            for resource in RESOURCES
                        },
                    }
                    for c in self.company_files.values()
                ],
                "grants": [
                    {"businessId": g.business_id, "clientId": g.client_id, "revoked": g.revoked}
                    for g in self.oauth.store.grants.values()
                ],
                "faults": self.faults.settings.as_dict(),
                "limits": self.limits(),
                "requests": list(self.requests),
            }


def _visible(resource: str, record: dict) -> dict:
    """A record as MYOB answers it (contacts keep their link name to themselves)."""
    if resource in CONTACTS:
        return {k: v for k, v in record.items() if k != "Name"}
    return record


def company_preferences(company: CompanyFile) -> dict:
    """GET {cf_uri}/Company/Preferences: the file's system preferences. MYOB's lock is "no
    entries prior to" a day, so the day after the emulator's lock date (locked on or before
    it); null when no period is locked (NOTES.md: the null is unverified)."""
    lock = company.lock_date
    return {
        "System": {
            "CategoryTracking": "Off",
            "TransactionsCannotBeChangedMustBeReversed": company.must_reverse,
            "LockPeriodPriorTo": wire_date(lock + datetime.timedelta(days=1)) if lock else None,
            "UseAlphaAccountIdentifier": False,
        }
    }
