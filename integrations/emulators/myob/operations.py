"""What tests, benchmarks and the demo do to the MYOB emulator from outside its API: look at its
company files' records, add company files, connect without a browser, act as someone working in
MYOB itself (edit, deactivate, delete, pay), lock periods and files, change the key's limits.
Each is also at /_emulator/... (control.py); `MyobEmulator` (app.py) answers the API calls."""

import datetime
import json

from .books import Books
from .company import (
    API_PREFIX,
    BILLS,
    PAYMENTS,
    RESOURCES,
    TRANSACTIONS,
    CompanyFile,
    parse_date,
    visible,
)
from .seed import build_company_file


class MyobOperations:
    """The MyobEmulator's methods for its control API (a part of MyobEmulator: its lock, clock,
    config, company files, meter, oauth)."""

    # --- control API (each also over HTTP under /_emulator/) ------------------------------------

    @property
    def default_business_id(self) -> str:
        with self._lock:
            return next(iter(self.company_files))

    def company_names(self) -> list[tuple[str, str]]:
        """(business id, name) of each company file."""
        with self._lock:
            return [(c.uid, c.name) for c in self.company_files.values()]

    def company_file(self, business_id: str | None = None) -> CompanyFile:
        company = self.company_files.get((business_id or self.default_business_id).lower())
        if company is None:
            raise KeyError(f"unknown company file '{business_id}'")
        return company

    def books(self, business_id: str | None = None) -> Books:
        return Books(self.company_file(business_id), self.clock())

    def add_company(self, name: str) -> dict:
        return self.add_company_file(name)

    def add_company_file(self, name: str) -> dict:
        with self._lock:
            uid = Books(self.company_file(), self.clock()).company.new_uid(
                "file", name, len(self.company_files)
            )
            self.company_files[uid] = build_company_file(uid, name, API_PREFIX + uid)
            return {"businessId": uid, "businessName": name}

    def connect(self, business_id: str | None = None, scope: str = "sme-company-file") -> dict:
        """Consent without a browser: the token answer plus `businessId` and `businessName`."""
        with self._lock:
            company = self.company_file(business_id)
            answer = self.oauth.connect(self.config.client_id, company.uid, scope)
            return {**answer, "businessId": company.uid, "businessName": company.name}

    def set_limits(self, **limits) -> dict:
        return self._limits_changed(self.meter.limits, limits, what="limit", integers=True)

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
            return json.loads(json.dumps(visible(*found), default=float))

    def records(self, resource: str, business_id: str | None = None) -> list[dict]:
        if resource not in RESOURCES:
            raise KeyError(f"unknown resource '{resource}'")
        with self._lock:
            rows = self.company_file(business_id).records[resource].values()
            return json.loads(json.dumps([visible(resource, r) for r in rows], default=float))

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
        """Someone deletes a record in MYOB: a transaction, a payment (its bill or invoice owes
        the amount again), or any other record. MYOB refuses as its API does (MyobError): a
        transaction with payments applied (its payments must be deleted first, one by one:
        NOTES.md), in a locked period, or in a file that wants reversals."""
        with self._lock:
            resource, record = self._found(uid, business_id)
            books = self.books(business_id)
            if resource in TRANSACTIONS:
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
            day = (
                date
                or datetime.datetime.fromtimestamp(self.clock(), datetime.UTC).date().isoformat()
            )
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
                                    [visible(resource, r) for r in c.records[resource].values()],
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
