"""A realm's books: entities as QBO's JSON, the write rules Intuit enforces, and the errors (as
Fault items) it gives when they are broken.

Entities are kept in the wire shape (dicts keyed by XSD element names), so what is read back is
what was written plus what QBO adds: Id, SyncToken, MetaData, domain, TotalAmt, Balance and
LinkedTxn. Balances and links are derived from the live payments, never stored apart.
"""

import copy
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from . import wire
from .checks import EntityChecks
from .entities import (
    COMMON,
    DOC_NUMBER_MAX,
    ENTITIES,
    PAYMENT_TXN_TYPE,
    READ_ONLY,
    TRANSACTIONS,
    WRITABLE,
)
from .faults import business, closed_period, fault, invalid, missing, object_not_found, stale


def created(entity_id: str, at: str) -> dict:
    """What QBO adds to every entity it creates: its Id, the first SyncToken, its domain, and
    `at` (a wire timestamp) as both times in MetaData."""
    return {
        "Id": entity_id,
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": {"CreateTime": at, "LastUpdatedTime": at},
    }


@dataclass
class Realm:
    """One QuickBooks company."""

    realm_id: str
    name: str
    created: float
    entities: dict[str, dict[str, dict]] = field(
        default_factory=lambda: {name: {} for name in ENTITIES}
    )
    deleted: dict[tuple[str, str], dict] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # Attachable Id -> content
    book_close_date: datetime.date | None = None
    # "Warn if duplicate bill number is used" / custom transaction numbers: on, as most
    # companies keep it. A request with include=allowduplicatedocnum passes anyway.
    unique_doc_numbers: bool = True
    next_id: int = 1
    writes: list[dict] = field(default_factory=list)

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)


# What `present` derives rather than stores (lower-cased): a query reading one of them is run
# on presented rows.
DERIVED_FIELDS = {"balance", "linkedtxn"}


class Books(EntityChecks):
    """The write rules, applied to one realm at one moment (`now`, epoch seconds)."""

    def __init__(self, realm: Realm, now: float) -> None:
        self.realm = realm
        self.now = now

    # --- reads -------------------------------------------------------------------------------

    def read(self, entity: str, entity_id: str) -> dict:
        found = self.realm.entities[entity].get(str(entity_id))
        if found is None:
            raise object_not_found(entity, entity_id)
        return self.present(entity, found)

    def present(self, entity: str, stored: dict) -> dict:
        """The stored entity as QBO answers it: balances and links derived now."""
        body = copy.deepcopy(stored)
        if entity in ("Bill", "Invoice"):
            payments = self._payments_of(entity, body["Id"])
            paid = sum((amount for _, _, amount in payments), Decimal(0))
            body["Balance"] = wire.number(wire.amount(body["TotalAmt"]) - paid)
            links = [{"TxnId": pid, "TxnType": kind} for pid, kind, _ in payments]
            if links:
                body["LinkedTxn"] = links
            else:
                body.pop("LinkedTxn", None)
        return body

    def _payments_of(self, entity: str, entity_id: str) -> list[tuple[str, str, Decimal]]:
        kind = "BillPayment" if entity == "Bill" else "Payment"
        found = []
        for payment in self.realm.entities[kind].values():
            for line in payment.get("Line", []):
                for link in line.get("LinkedTxn", []):
                    if link.get("TxnId") == entity_id and link.get("TxnType") == entity:
                        txn_type = PAYMENT_TXN_TYPE.get(payment.get("PayType"), "Payment")
                        found.append((payment["Id"], txn_type, wire.amount(line["Amount"])))
        return found

    # --- writes ------------------------------------------------------------------------------

    def create(self, entity: str, body: dict, *, allow_duplicate_number=False) -> dict:
        self._check_keys(entity, body)
        if entity == "Item":
            raise fault(500, "Unsupported Operation", "Operation Create is not supported.")
        draft = self._writable(entity, body)
        draft = self._validated(entity, draft, None, allow_duplicate_number)
        draft.update(created(self.realm.new_id(), wire.timestamp(self.now)))
        self.realm.entities[entity][draft["Id"]] = draft
        self._note("create", entity, draft)
        return self.present(entity, draft)

    def update(self, entity: str, body: dict, *, sparse=None, allow_duplicate_number=False) -> dict:
        self._check_keys(entity, body)
        current = self._current(entity, body)
        sparse = bool(body.get("sparse")) if sparse is None else sparse
        if entity == "Item":
            raise fault(500, "Unsupported Operation", "Operation Update is not supported.")
        sent = self._writable(entity, body)
        if sparse:
            kept = {k: v for k, v in current.items() if k in WRITABLE[entity]}
            draft = {**kept, **sent}
        else:  # a full update clears what it leaves out
            draft = sent
        self._check_open_period(current)
        draft = self._validated(entity, draft, current, allow_duplicate_number)
        if entity in ("Bill", "Invoice"):
            paid = sum((a for _, _, a in self._payments_of(entity, current["Id"])), Decimal(0))
            if wire.amount(draft["TotalAmt"]) < paid:
                raise business(
                    f"The {entity.lower()} total cannot be less than the payments applied to it "
                    f"({paid})"
                )
        self._store(entity, current, draft)
        self._note("update", entity, current)
        return self.present(entity, current)

    def delete(self, entity: str, body: dict) -> dict:
        if entity not in TRANSACTIONS and entity != "Attachable":
            raise fault(500, "Unsupported Operation", "Operation Delete is not supported.")
        current = self._current(entity, body)
        self._check_open_period(current)
        if entity in ("Bill", "Invoice") and self._payments_of(entity, current["Id"]):
            raise business(
                f"This {entity.lower()} has payments applied to it: delete or void them first"
            )
        del self.realm.entities[entity][current["Id"]]
        self._bump(current)  # when it was deleted: change data capture reports it from then
        self.realm.deleted[(entity, current["Id"])] = current
        self._note("delete", entity, current)
        return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}

    def void(self, entity: str, body: dict) -> dict:
        """Invoice (`?operation=void`), BillPayment and Payment (`?operation=update&include=void`):
        amounts go to zero, the document stays as history. A BillPayment's lines are cleared
        too (Intuit: "all lines are cleared"), so it no longer pays the bills they linked."""
        if entity not in ("Invoice", "BillPayment", "Payment"):
            raise fault(500, "Unsupported Operation", "Operation Void is not supported.")
        current = self._current(entity, body)
        self._check_open_period(current)
        if entity == "BillPayment":
            current.pop("Line", None)
        for line in current.get("Line", []):
            line["Amount"] = 0.0
        current["TotalAmt"] = 0.0
        note = current.get("PrivateNote", "")
        current["PrivateNote"] = f"Voided{' - ' + note if note else ''}"
        self._bump(current)
        self._note("void", entity, current)
        return self.present(entity, current)

    def attach(self, metadata: dict, file_name: str, content_type: str, content: bytes) -> dict:
        self._check_keys("Attachable", metadata)
        for ref in metadata.get("AttachableRef", []):
            target = (ref.get("EntityRef") or {}).get("type")
            target_id = (ref.get("EntityRef") or {}).get("value")
            if target not in self.realm.entities or target_id not in self.realm.entities[target]:
                raise fault(
                    2500,
                    "Invalid Reference Id",
                    f"Invalid Reference Id : {target} {target_id} does not exist",
                    "AttachableRef",
                )
        attachable = {
            **{k: copy.deepcopy(v) for k, v in metadata.items() if k in WRITABLE["Attachable"]},
            "FileName": file_name or metadata.get("FileName", ""),
            "ContentType": content_type or metadata.get("ContentType", ""),
            "Size": len(content),
            **created(self.realm.new_id(), wire.timestamp(self.now)),
        }
        self.realm.entities["Attachable"][attachable["Id"]] = attachable
        self.realm.files[attachable["Id"]] = content
        self._note("create", "Attachable", attachable)
        return copy.deepcopy(attachable)

    def edit_behind_back(self, entity: str, entity_id: str, changes: dict) -> dict:
        """Someone changes the entity in QuickBooks: no rules, a new SyncToken."""
        current = self.realm.entities[entity].get(str(entity_id))
        if current is None:
            raise KeyError(f"unknown {entity} '{entity_id}'")
        current.update(copy.deepcopy(changes))
        if entity in TRANSACTIONS and "Line" in changes:
            self._number_lines(current["Line"])
            if entity in ("Bill", "Invoice", "Purchase"):
                current["TotalAmt"] = wire.number(self._lines_total(current["Line"]))
        self._bump(current)
        self._note("edit", entity, current)
        return self.present(entity, current)

    # --- rules -------------------------------------------------------------------------------

    def _check_keys(self, entity: str, body) -> None:
        if not isinstance(body, dict):
            raise fault(2010, "Request has invalid or unsupported property", "A JSON object")
        known = WRITABLE[entity] | READ_ONLY.get(entity, set()) | COMMON
        for key in body:
            if key not in known:
                raise fault(
                    2010,
                    "Request has invalid or unsupported property",
                    f'Property Name:Unrecognized field "{key}" specified is unsupported or invalid',
                    key,
                )

    @staticmethod
    def _writable(entity: str, body: dict) -> dict:
        # A null is no value: QBO's JSON never holds one, so it is left out, not stored.
        return {
            k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE[entity] and v is not None
        }

    def _current(self, entity: str, body: dict) -> dict:
        if not body.get("Id"):
            raise missing("Id")
        if body.get("SyncToken") in (None, ""):
            raise missing("SyncToken")
        current = self.realm.entities[entity].get(str(body["Id"]))
        if current is None:
            raise object_not_found(entity, body["Id"])
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise stale(entity)
        return current

    def _store(self, entity: str, current: dict, draft: dict) -> None:
        for key in list(current):
            if key in WRITABLE[entity] or key in READ_ONLY.get(entity, ()):
                del current[key]
        current.update(draft)
        self._bump(current)

    def _bump(self, stored: dict) -> None:
        stored["SyncToken"] = str(int(stored["SyncToken"]) + 1)
        stored["MetaData"]["LastUpdatedTime"] = wire.timestamp(self.now)

    def _note(self, operation: str, entity: str, stored: dict) -> None:
        self.realm.writes.append(
            {
                "at": self.now,
                "operation": operation,
                "entity": entity,
                "Id": stored["Id"],
                "SyncToken": stored.get("SyncToken"),
                "DocNumber": stored.get("DocNumber"),
                "TotalAmt": stored.get("TotalAmt"),
            }
        )
        del self.realm.writes[:-100_000]

    def _check_open_period(self, stored: dict) -> None:
        if "TxnDate" in stored:
            self._check_date(wire.parse_date(stored["TxnDate"]))

    def _check_date(self, date: datetime.date) -> None:
        close = self.realm.book_close_date
        if close is not None and date <= close:
            raise closed_period(close)

    def _today(self) -> str:
        return wire.timestamp(self.now)[:10]

    def _ref(self, body: dict, key: str, entity: str, *, required=True, types=()) -> dict | None:
        ref = body.get(key)
        if ref is None:
            if required:
                raise missing(key)
            return None
        if not isinstance(ref, dict) or not ref.get("value"):
            raise missing(f"{key}.value")
        found = self.realm.entities[entity].get(str(ref["value"]))
        if found is None:
            raise fault(
                2500,
                "Invalid Reference Id",
                f"Invalid Reference Id : {entity} {ref['value']} does not exist",
                key,
            )
        if found.get("Active") is False:
            raise object_not_found(entity, ref["value"])
        if types and found.get("AccountType") not in types:
            raise business(
                f"{key} must be an account of type {' or '.join(types)} "
                f"('{found.get('Name')}' is {found.get('AccountType')})"
            )
        name = found.get("DisplayName") or found.get("FullyQualifiedName") or found.get("Name")
        resolved = {"value": found["Id"], "name": name}
        body[key] = resolved
        return found

    def _date(self, body: dict, key: str, *, default: str | None = None) -> None:
        if body.get(key) in (None, ""):
            if default is not None:
                body[key] = default
            return
        try:
            body[key] = wire.parse_date(body[key]).isoformat()
        except ValueError:
            raise invalid(key, f"Invalid date {body[key]!r}: use yyyy-mm-dd") from None

    def _money(self, holder: dict, key: str, element: str) -> Decimal:
        if key not in holder:
            raise missing(element)
        try:
            value = wire.amount(holder[key])
        except ValueError:
            raise invalid(element, f"Invalid number {holder[key]!r} for {element}") from None
        holder[key] = wire.number(value)
        return value

    def _lines_total(self, lines) -> Decimal:
        return sum(
            (
                wire.amount(line.get("Amount", 0))
                for line in lines
                if line.get("DetailType") != "SubTotalLineDetail"
            ),
            Decimal(0),
        )

    @staticmethod
    def _number_lines(lines) -> None:
        for index, line in enumerate(lines, start=1):
            line["Id"] = str(index)
            line["LineNum"] = index

    def _lines(self, draft: dict) -> list:
        lines = draft.get("Line")
        if not lines:
            raise missing("Line")
        if not isinstance(lines, list) or not all(isinstance(li, dict) for li in lines):
            raise invalid("Line", "Line must be a list of objects")
        return lines

    def _doc_number(self, entity, draft, current, scope_key, allow_duplicate) -> None:
        number = draft.get("DocNumber")
        if number in (None, ""):
            return
        if len(str(number)) > DOC_NUMBER_MAX:
            raise fault(
                2050,
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. Min:0 "
                f"Max:{DOC_NUMBER_MAX} supplied length:{len(str(number))}",
                "DocNumber",
            )
        if not self.realm.unique_doc_numbers or allow_duplicate:
            return
        for other in self.realm.entities[entity].values():
            same_scope = scope_key is None or other.get(scope_key, {}).get("value") == draft.get(
                scope_key, {}
            ).get("value")
            if (
                other.get("DocNumber") == number
                and same_scope
                and (current is None or other["Id"] != current["Id"])
            ):
                raise fault(
                    6140,
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={number} is assigned to "
                    f"TxnType={entity} with TxnId={other['Id']}",
                )

    def _currency(self, draft: dict) -> None:
        currency = draft.get("CurrencyRef") or {"value": "USD"}
        if not isinstance(currency, dict) or len(str(currency.get("value", ""))) != 3:
            raise invalid("CurrencyRef", "CurrencyRef.value must be a 3-letter currency code")
        draft["CurrencyRef"] = {"value": currency["value"].upper()}
        if currency["value"].upper() == "USD":
            draft["CurrencyRef"]["name"] = "United States Dollar"

    def _validated(self, entity, draft, current, allow_duplicate) -> dict:
        check = getattr(self, f"_check_{entity.lower()}")
        check(draft, current, allow_duplicate)
        return draft

    # --- per entity --------------------------------------------------------------------------
