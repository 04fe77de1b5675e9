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
    API_PREFIX,
    ATTACHABLE,
    CUSTOMER_PAYMENTS,
    PAYMENTS,
    SPEND_MONEY,
    SUPPLIER_PAYMENTS,
    TRANSACTIONS,
    CompanyFile,
    MyobError,
    split_path,
    visible,
    wire_date,
)
from .config import EmulatorConfig
from .limits import KeyLimits, KeyMeter
from .odata import FilterError, compile_filter
from .operations import MyobOperations
from .seed import build_company_file
from .wire import error_response, json_response, request_json

DEFAULT_PAGE = 400  # NOTES.md: 400 by default, at most 1000 with $top
MAX_PAGE = 1000
FIRST_FILE = "3f9c8a52-0d5e-4c1b-9a77-5b2d7e1c4a01"


class MyobEmulator(MyobOperations, LedgerEmulator):
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
                FIRST_FILE, self.config.company_name, API_PREFIX + FIRST_FILE
            )
        }

    def _reset_ledger(self) -> None:
        self.meter = KeyMeter(self._configured_limits(), self.clock)

    # --- WSGI (LedgerEmulator.__call__ routes) ----------------------------------------------

    api_prefix = API_PREFIX
    oauth_routes = {
        ("/oauth2/account/authorize", "GET"): oauth.authorize,
        ("/oauth2/account/authorize", "POST"): oauth.authorize,
        ("/oauth2/v1/authorize", "POST"): oauth.token,
    }

    def _control(self, request: Request) -> Response:
        return control.handle(self, request)

    def _not_found(self, path: str) -> Response:
        return json_response({"error": "not found", "path": path}, 404)

    def _timeout_response(self) -> Response:
        return error_response(504, "GatewayTimeout", "Connection to the API has timed out")

    def _api(self, request: Request) -> Response:
        business_id, _, rest = request.path[len(API_PREFIX) :].partition("/")
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
                return self._present(request, visible(resource, books.record(resource, uid)))
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
            "Items": [visible(resource, row) for row in page],
            "NextPageLink": next_link,
            "Count": len(rows),
        }
        return self._present(request, body)

    def _present(self, request: Request, body, status: int = 200) -> Response:
        """URIs are stored relative (`/accountright/...`) and answered absolute."""
        text = json.dumps(body, default=float).replace(
            f'"{API_PREFIX}', f'"{request.host_url.rstrip("/")}{API_PREFIX}'
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
