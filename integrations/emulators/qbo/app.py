"""QboEmulator: a WSGI application speaking QuickBooks Online's wire format, state in memory.

An Accounting API call goes through, in order: bearer token (401), the token's company against
the path's realm (403), `minorversion`, injected faults, Intuit's throttles (429), optional
latency, then the handler under the emulator's lock with `requestid` replay, then an optional
lost answer. The control API (`/_emulator/...`) and the Python methods drive it in tests.
"""

import datetime
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from ..common.app import LedgerEmulator
from . import api, control, oauth, wire
from .books import Books, Realm
from .config import EmulatorConfig
from .entities import ENTITIES
from .faults import QboFault
from .limits import Throttle, Throttles
from .seed import build_realm

PREFIX = "/v3/company/"
FIRST_REALM_ID = 9341450000000001
REQUESTID_MAX = 50
BATCH_REQUESTID_MAX = 36


@dataclass
class _Stored:
    status: int
    body: bytes
    stored_at: float


class QboEmulator(LedgerEmulator):
    label = "QBO emulator"

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config or EmulatorConfig(), clock=clock)
        self.oauth = oauth.OAuthServer(self.config, clock)
        self.throttle = Throttle(self._configured_throttles(), clock)
        self._replies: dict[tuple[str, str], _Stored] = {}
        self.realms: dict[str, Realm] = {}
        self._seed()

    def _configured_throttles(self) -> Throttles:
        c = self.config
        return Throttles(c.calls_per_minute, c.calls_per_second, c.batch_calls_per_minute)

    def _seed(self) -> None:
        realm_id = str(FIRST_REALM_ID)
        self.realms = {realm_id: build_realm(realm_id, self.config.company_name, now=self.clock())}

    # --- WSGI (LedgerEmulator.__call__ routes) ----------------------------------------------

    api_prefix = PREFIX
    oauth_routes = {
        ("/connect/oauth2", "GET"): oauth.authorize,
        ("/connect/oauth2", "POST"): oauth.authorize,
        ("/oauth2/v1/tokens/bearer", "POST"): oauth.token,
        ("/v2/oauth2/tokens/revoke", "POST"): oauth.revoke,
    }

    def _control(self, request: Request) -> Response:
        return control.handle(self, request)

    def _not_found(self, path: str) -> Response:
        return wire.json_response({"error": "not found", "path": path}, 404)

    def _fault(self, status, code, message, detail, fault_type, headers=None) -> Response:
        errors = [wire.error(code, message, detail)]
        return wire.fault_response(status, errors, fault_type, self.clock(), headers)

    def _api(self, request: Request) -> Response:
        realm_id, _, rest = request.path[len(PREFIX) :].partition("/")
        parts = [p for p in rest.split("/") if p]
        tid = {"intuit_tid": secrets.token_hex(16)}
        with self._lock:
            try:
                grant = self.oauth.access(request.headers.get("Authorization"))
            except oauth.BearerError as exc:
                detail = "Token expired" if exc.expired else "Token invalid"
                response = self._fault(
                    401,
                    3200,
                    "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    f"{detail}: the access token is missing, unknown, revoked or expired",
                    "AuthenticationFault",
                    tid,
                )
                return self._logged(request, realm_id, response)
            if grant.realm_id != realm_id or realm_id not in self.realms:
                response = self._fault(
                    403,
                    3100,
                    "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    f"The token does not grant access to company {realm_id}",
                    "AuthorizationFault",
                    tid,
                )
                return self._logged(request, realm_id, response)
            problem = self._minorversion_problem(request)
            if problem:
                response = self._fault(
                    400, 2170, "Invalid Enumeration", problem, "ValidationFault", tid
                )
                return self._logged(request, realm_id, response)
            injected = self.faults.next_fault()
            throttled = None
            if injected is None:
                batch = parts == ["batch"]
                throttled = self.throttle.admit(realm_id, grant.client_id, batch=batch)
        if injected is not None and injected.kind == "timeout":
            self._logged(request, realm_id, None)
            return self._lose_response(request, applied=False)
        if (injected is not None and injected.kind == "rate_limited") or throttled:
            response = self._fault(
                429,
                3001,
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                f"The request limit was reached ({throttled or 'injected'}): wait and retry",
                "SystemFault",
                tid,
            )
            return self._logged(request, realm_id, response)
        if injected is not None:
            response = self._fault(
                injected.status,
                10000,
                "An application error has occurred while processing your request",
                "System Failure Error: the emulator injected a server error",
                "SystemFault",
                tid,
            )
            return self._logged(request, realm_id, response)
        self._pause()
        with self._lock:
            realm = self.realms.get(realm_id)
            if realm is None:  # reset while this call waited
                response = self._fault(
                    403, 3100, "ApplicationAuthorizationFailed", "", "AuthorizationFault"
                )
            else:
                response = self._with_requestid(request, realm, parts)
            dropped = request.method == "POST" and self.faults.take_drop()
        response.headers.update(tid)
        self._logged(request, realm_id, response, dropped=dropped)
        if dropped:
            return self._lose_response(request, applied=True, response=response)
        return response

    def _minorversion_problem(self, request: Request) -> str:
        value = request.args.get("minorversion")
        if value is None:
            return ""  # Intuit then answers at the base version
        if not value.isdigit():
            return f"minorversion {value!r} is not a number"
        if not self.config.min_minorversion <= int(value) <= self.config.max_minorversion:
            return (
                f"minorversion {value} is not supported: use "
                f"{self.config.min_minorversion}-{self.config.max_minorversion}"
            )
        return ""

    def _with_requestid(self, request: Request, realm: Realm, parts: list[str]) -> Response:
        """A POST repeated with the same requestid gets the first answer, not a second write.
        As Intuit documents it, the id alone identifies the request (the body is not compared)."""
        requestid = request.args.get("requestid")
        if request.method != "POST" or not requestid:
            return self._run(request, realm, parts)
        limit = BATCH_REQUESTID_MAX if parts == ["batch"] else REQUESTID_MAX
        if len(requestid) > limit:
            return self._fault(
                400,
                2050,
                "String length is either shorter or longer than supported by specification",
                f"requestid is limited to {limit} characters",
                "ValidationFault",
            )
        key = (realm.realm_id, requestid)
        stored = self._replies.get(key)
        now = self.clock()
        if stored is not None and now - stored.stored_at <= self.config.requestid_ttl:
            return Response(stored.body, stored.status, content_type=wire.JSON)
        response = self._run(request, realm, parts)
        if response.status_code < 500:
            self._replies[key] = _Stored(response.status_code, response.get_data(), now)
        return response

    def _run(self, request: Request, realm: Realm, parts: list[str]) -> Response:
        call = api.Call(request, Books(realm, self.clock()), self.config.max_batch_items)
        handler = api.route(call, parts)
        if handler is None:
            return self._fault(
                400,
                500,
                "Unsupported Operation",
                f"{request.method} {request.path}",
                "ValidationFault",
            )
        try:
            status, body = handler()
        except QboFault as exc:
            return wire.fault_response(exc.status, exc.errors, exc.fault_type, self.clock())
        return wire.json_response(body, status)

    def _timeout_response(self) -> Response:
        return self._fault(
            504, 10000, "Gateway Timeout", "The emulator simulated a timeout", "SystemFault"
        )

    def _logged(self, request: Request, realm_id, response, *, dropped=False):
        return self._log_call(
            request,
            response,
            dropped=dropped,
            realmId=realm_id,
            requestid=request.args.get("requestid"),
            minorversion=request.args.get("minorversion"),
            bodyHash=hashlib.sha256(request.get_data()).hexdigest()[:16],
        )

    # --- control API (each also over HTTP under /_emulator/) ------------------------------------

    @property
    def default_realm_id(self) -> str:
        with self._lock:
            return next(iter(self.realms))

    def company_names(self) -> list[tuple[str, str]]:
        """(realm id, company name) of each realm."""
        with self._lock:
            return [(r.realm_id, r.name) for r in self.realms.values()]

    def _realm(self, realm_id: str | None) -> Realm:
        realm = self.realms.get(realm_id or self.default_realm_id)
        if realm is None:
            raise KeyError(f"unknown realm '{realm_id}'")
        return realm

    def books(self, realm_id: str | None = None) -> Books:
        return Books(self._realm(realm_id), self.clock())

    def _reset_ledger(self) -> None:
        self.throttle = Throttle(self._configured_throttles(), self.clock)
        self._replies.clear()

    def add_company(self, name: str) -> dict:
        return self.add_realm(name)

    def add_realm(self, name: str) -> dict:
        with self._lock:
            realm_id = str(FIRST_REALM_ID + len(self.realms))
            self.realms[realm_id] = build_realm(realm_id, name, now=self.clock())
            return {"realmId": realm_id, "companyName": name}

    def connect(self, realm_id: str | None = None, scope: str = oauth.ACCOUNTING_SCOPE) -> dict:
        """Consent without a browser: the token endpoint's answer plus `realmId`."""
        with self._lock:
            realm = self._realm(realm_id)
            return self.oauth.connect(self.config.client_id, realm.realm_id, scope)

    def set_throttles(self, **limits) -> dict:
        return self._limits_changed(self.throttle.limits, limits, what="throttle", integers=True)

    def throttles(self) -> dict:
        with self._lock:
            return self.throttle.limits.as_dict()

    def set_book_close_date(self, realm_id: str | None = None, date=None) -> None:
        """Close the books on `date` (None reopens them): writes dated on or before it fail."""
        with self._lock:
            realm = self._realm(realm_id)
            if date is None or isinstance(date, datetime.date):
                realm.book_close_date = date
            else:
                realm.book_close_date = wire.parse_date(date)

    def set_unique_doc_numbers(self, unique: bool, realm_id: str | None = None) -> None:
        with self._lock:
            self._realm(realm_id).unique_doc_numbers = bool(unique)

    def entity(self, entity: str, entity_id: str, realm_id: str | None = None) -> dict:
        with self._lock:
            self._known(entity)
            books = self.books(realm_id)
            if entity_id not in books.realm.entities[entity]:
                raise KeyError(f"unknown {entity} '{entity_id}'")
            return books.read(entity, entity_id)

    def entities(self, entity: str, realm_id: str | None = None) -> list[dict]:
        with self._lock:
            self._known(entity)
            books = self.books(realm_id)
            return [books.present(entity, e) for e in books.realm.entities[entity].values()]

    def edit_entity(self, entity: str, entity_id: str, changes: dict, realm_id=None) -> dict:
        """Someone edits the entity in QuickBooks (drift): a new SyncToken, no rules."""
        with self._lock:
            self._known(entity)
            return self.books(realm_id).edit_behind_back(entity, entity_id, changes)

    def set_active(self, entity: str, entity_id: str, active: bool, realm_id=None) -> dict:
        """Someone makes a vendor, customer or account inactive (or active again)."""
        return self.edit_entity(entity, entity_id, {"Active": bool(active)}, realm_id)

    def delete_entity(self, entity: str, entity_id: str, realm_id=None) -> None:
        with self._lock:
            self._known(entity)
            realm = self._realm(realm_id)
            stored = realm.entities[entity].pop(entity_id, None)
            if stored is None:
                raise KeyError(f"unknown {entity} '{entity_id}'")
            stored["MetaData"]["LastUpdatedTime"] = wire.timestamp(self.clock())
            realm.deleted[(entity, entity_id)] = stored

    def void_entity(self, entity: str, entity_id: str, realm_id=None) -> dict:
        """Someone voids the payment (or invoice) in QuickBooks: as the API's void does it (its
        amounts zeroed, a BillPayment's lines cleared, "Voided" put before its PrivateNote, a
        new SyncToken), at whatever SyncToken it holds. Returns the entity as read after."""
        with self._lock:
            self._known(entity)
            books = self.books(realm_id)
            stored = books.realm.entities[entity].get(entity_id)
            if stored is None:
                raise KeyError(f"unknown {entity} '{entity_id}'")
            return books.void(entity, {"Id": entity_id, "SyncToken": stored["SyncToken"]})

    def pay_bill(self, bill_id: str, date=None, realm_id=None) -> dict:
        """Someone pays the bill's balance in QuickBooks, by check from the first bank
        account. Returns the BillPayment."""
        with self._lock:
            books = self.books(realm_id)
            if bill_id not in books.realm.entities["Bill"]:
                raise KeyError(f"unknown Bill '{bill_id}'")
            bill = books.read("Bill", bill_id)
            bank = next(
                a for a in books.realm.entities["Account"].values() if a["AccountType"] == "Bank"
            )
            return books.create(
                "BillPayment",
                {
                    "VendorRef": {"value": bill["VendorRef"]["value"]},
                    "PayType": "Check",
                    "TotalAmt": bill["Balance"],
                    "TxnDate": date or wire.timestamp(self.clock())[:10],
                    "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
                    "Line": [
                        {
                            "Amount": bill["Balance"],
                            "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}],
                        }
                    ],
                },
            )

    def writes(self, realm_id: str | None = None, since: float | None = None) -> list[dict]:
        with self._lock:
            realm = self._realm(realm_id)
            return [w for w in realm.writes if since is None or w["at"] >= since]

    def call_count(self, realm_id: str | None = None) -> int:
        with self._lock:
            return self.throttle.accepted[self._realm(realm_id).realm_id]

    def state(self) -> dict:
        with self._lock:
            realms = []
            for realm in self.realms.values():
                books = Books(realm, self.clock())
                realms.append(
                    {
                        "realmId": realm.realm_id,
                        "companyName": realm.name,
                        "bookCloseDate": realm.book_close_date.isoformat()
                        if realm.book_close_date
                        else None,
                        "uniqueDocNumbers": realm.unique_doc_numbers,
                        "calls": self.throttle.accepted[realm.realm_id],
                        "refusedCalls": self.throttle.refused[realm.realm_id],
                        "entities": {
                            name: [books.present(name, e) for e in realm.entities[name].values()]
                            for name in ENTITIES
                        },
                    }
                )
            return {
                "realms": realms,
                "grants": [
                    {"realmId": g.realm_id, "clientId": g.client_id, "revoked": g.revoked}
                    for g in self.oauth.store.grants.values()
                ],
                "faults": self.faults.settings.as_dict(),
                "throttles": self.throttle.limits.as_dict(),
                "requestids": len(self._replies),
                "requests": list(self.requests),
            }

    @staticmethod
    def _known(entity: str) -> None:
        if entity not in ENTITIES:
            raise KeyError(f"unknown entity '{entity}'")
