"""The Accounting API v3 handlers: `/v3/company/{realmId}/...`, JSON in, QBO's envelope out.

Each handler gets a `Call` and returns (status, body). Writes raise `QboFault`, answered as a
Fault envelope; the batch endpoint turns each item's fault into that item's answer.
"""

import datetime
import json
from dataclasses import dataclass

from werkzeug.wrappers import Request

from . import query as qbo_query
from . import wire
from .books import DERIVED_FIELDS, Books
from .entities import ENTITIES, NAME_LISTS, RESOURCES
from .faults import QboFault, fault, missing

BATCH_OPERATIONS = ("create", "update", "delete", "void")
# The entities Intuit voids with `?operation=update&include=void` (the Invoice takes
# `?operation=void`): BillPayment, Payment.
VOIDED_BY_UPDATE = ("BillPayment", "Payment")


@dataclass
class Call:
    request: Request
    books: Books
    max_batch_items: int

    @property
    def now(self) -> float:
        return self.books.now

    def envelope(self, **body) -> dict:
        return {**body, "time": wire.timestamp(self.now)}


def _json_body(request: Request):
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError as exc:
        raise fault(
            2010,
            "Request has invalid or unsupported property",
            f"Property Name:Unexpected character in the request body ({exc})",
        ) from None


def _include(request: Request) -> set[str]:
    return {part.strip().lower() for part in request.args.get("include", "").split(",")}


def write(call: Call, entity: str, body, *, operation: str | None, include: set[str]) -> dict:
    """One write, as POST /{entity}?operation=... or a batch item does it; returns the entity."""
    books = call.books
    allow_duplicate = "allowduplicatedocnum" in include
    if not isinstance(body, dict):
        raise fault(2010, "Request has invalid or unsupported property", "A JSON object")
    if operation == "delete":
        return books.delete(entity, body)
    if operation == "void" and entity in VOIDED_BY_UPDATE:
        # Intuit voids a payment by a sparse update with include=void; `operation=void` is
        # the Invoice's form, and QuickBooks answers it on a payment as an unknown operation.
        raise fault(
            500,
            "Unsupported Operation",
            f"Operation void is not supported on {entity}: send operation=update&include=void.",
        )
    if operation == "void" or (operation == "update" and "void" in include):
        return books.void(entity, body)
    if operation not in (None, "create", "update"):
        raise fault(500, "Unsupported Operation", f"Operation {operation} is not supported.")
    if body.get("Id") or operation == "update":
        return books.update(entity, body, allow_duplicate_number=allow_duplicate)
    return books.create(entity, body, allow_duplicate_number=allow_duplicate)


def entity_post(call: Call, resource: str) -> tuple[int, dict]:
    entity = RESOURCES[resource]
    request = call.request
    body = _json_body(request)
    result = write(
        call, entity, body, operation=request.args.get("operation"), include=_include(request)
    )
    return 200, call.envelope(**{entity: result})


def entity_get(call: Call, resource: str, entity_id: str) -> tuple[int, dict]:
    entity = RESOURCES[resource]
    return 200, call.envelope(**{entity: call.books.read(entity, entity_id)})


def run_query(call: Call, text: str) -> dict:
    try:
        parsed = qbo_query.parse(text or "", ENTITIES)
    except qbo_query.QueryError as exc:
        raise fault(4000, "Error parsing query", f"QueryParserError: {exc}") from None
    if parsed.entity in NAME_LISTS and not any(
        c.field.lower() == "active" for c in parsed.conditions
    ):
        # As Intuit's: `select * from Customer` lists the active ones only.
        parsed.conditions.append(qbo_query.Condition("Active", "=", [True]))
    books, entity = call.books, parsed.entity
    stored = list(books.realm.entities[entity].values())
    if qbo_query.fields_read(parsed) & DERIVED_FIELDS:
        return qbo_query.run(parsed, [books.present(entity, row) for row in stored])
    # The stored rows answer every other field as presented: only the page is presented
    # (a copy, with its payments looked up), not every row of the realm.
    return qbo_query.run(parsed, stored, lambda row: books.present(entity, row))


def query(call: Call) -> tuple[int, dict]:
    request = call.request
    if request.method == "POST":
        text = request.get_data(as_text=True)
    else:
        text = request.args.get("query", "")
    return 200, call.envelope(QueryResponse=run_query(call, text))


def batch(call: Call) -> tuple[int, dict]:
    body = _json_body(call.request)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise fault(
            2020,
            "Required param missing, need to supply the required value for the API",
            "Required parameter BatchItemRequest is missing in the request",
        )
    if len(items) > call.max_batch_items:
        raise fault(
            1040,
            "Operation batch size exceeded",
            f"A batch takes at most {call.max_batch_items} items; this one has {len(items)}",
        )
    with_requestid = bool(call.request.args.get("requestid"))
    seen, answers = set(), []
    for item in items:
        if not isinstance(item, dict) or not item.get("bId"):
            raise fault(2020, "Required param missing", "Every BatchItemRequest needs a bId")
        bid = str(item["bId"])
        if bid in seen:
            raise fault(2020, "Duplicate bId", f"bId {bid} is used twice in this batch")
        if with_requestid and len(bid) > 10:
            raise fault(2050, "String length exceeded", f"bId {bid} is over 10 characters")
        seen.add(bid)
        answers.append({"bId": bid, **_batch_item(call, item)})
    return 200, call.envelope(BatchItemResponse=answers)


def _batch_item(call: Call, item: dict) -> dict:
    """Items succeed or fail on their own: a fault is this item's answer."""
    try:
        if "Query" in item:
            return {"QueryResponse": run_query(call, item["Query"])}
        kinds = [key for key in item if key in ENTITIES]
        operation = item.get("operation")
        if len(kinds) != 1 or operation not in BATCH_OPERATIONS:
            raise fault(
                2020,
                "Required param missing, need to supply the required value for the API",
                "A batch item takes an operation (create, update, delete, void) and one entity",
            )
        entity = kinds[0]
        include = {"void"} if operation == "void" and entity != "Invoice" else set()
        operation = "update" if include else operation
        result = write(call, entity, item[entity], operation=operation, include=include)
        return {entity: result}
    except QboFault as exc:
        return {"Fault": {"Error": exc.errors, "type": exc.fault_type}}


def upload(call: Call) -> tuple[int, dict]:
    """Multipart: `file_metadata_N` (an Attachable, JSON) and `file_content_N` (the file)."""
    request = call.request
    answers = []
    indexes = sorted(
        {
            name.rsplit("_", 1)[1]
            for name in [*request.files, *request.form]
            if name.startswith(("file_content_", "file_metadata_"))
        }
    )
    if not indexes:
        raise fault(
            2020,
            "Required param missing, need to supply the required value for the API",
            "Required parameter file_content_0 is missing in the request",
        )
    for index in indexes:
        try:
            answers.append({"Attachable": _upload_one(call, request, index)})
        except QboFault as exc:
            answers.append({"Fault": {"Error": exc.errors, "type": exc.fault_type}})
    return 200, call.envelope(AttachableResponse=answers)


def _upload_one(call: Call, request: Request, index: str) -> dict:
    content = request.files.get(f"file_content_{index}")
    if content is None:
        raise fault(2020, "Required param missing", f"file_content_{index} is missing")
    metadata_file = request.files.get(f"file_metadata_{index}")
    raw = metadata_file.read() if metadata_file else request.form.get(f"file_metadata_{index}")
    try:
        metadata = json.loads(raw) if raw else {}
    except ValueError:
        raise fault(2010, "Request has invalid or unsupported property", "file_metadata") from None
    return call.books.attach(
        metadata, content.filename or "", content.mimetype or "", content.read()
    )


def preferences(call: Call) -> tuple[int, dict]:
    realm = call.books.realm
    prefs = {"AccountingInfoPrefs": {}, "Id": "1", "SyncToken": "0", "domain": "QBO"}
    if realm.book_close_date:
        prefs["AccountingInfoPrefs"]["BookCloseDate"] = realm.book_close_date.isoformat()
    return 200, call.envelope(Preferences=prefs)


def company_info(call: Call, realm_id: str) -> tuple[int, dict]:
    realm = call.books.realm
    if realm_id != realm.realm_id:
        raise fault(610, "Object Not Found", f"Object Not Found : CompanyInfo {realm_id}")
    info = {
        "CompanyName": realm.name,
        "LegalName": realm.name,
        "Country": "US",
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
    }
    return 200, call.envelope(CompanyInfo=info)


# Change data capture: "CDC operations can track changes within the last 30 days", and a
# response holds at most 1,000 objects of each entity (specs/qbo/NOTES.md).
CDC_LOOKBACK_DAYS = 30
CDC_MAX_OBJECTS = 1000


def cdc(call: Call) -> tuple[int, dict]:
    """GET /cdc?entities=Bill,Invoice&changedSince=<date-time>: each entity's objects created or
    changed since then (full bodies), and the ones deleted as `{"Id", "status": "Deleted"}`."""
    args = call.request.args
    names = [name.strip() for name in args.get("entities", "").split(",") if name.strip()]
    if not names:
        raise missing("entities")
    by_name = {name.lower(): name for name in ENTITIES}
    unknown = [name for name in names if name.lower() not in by_name]
    if unknown:
        raise fault(
            4000, "Error parsing query", f"QueryParserError: Invalid entity {unknown[0]} in CDC"
        )
    try:
        since = datetime.datetime.fromisoformat(args.get("changedSince", "").replace("Z", "+00:00"))
    except ValueError:
        raise missing("changedSince") from None
    if since.tzinfo is None:
        since = since.replace(tzinfo=datetime.UTC)
    oldest = datetime.datetime.fromtimestamp(call.now, datetime.UTC) - datetime.timedelta(
        days=CDC_LOOKBACK_DAYS
    )
    if since < oldest:
        raise fault(
            4000,
            "Error parsing query",
            f"QueryParserError: changedSince must be within the last {CDC_LOOKBACK_DAYS} days",
        )
    realm = call.books.realm
    responses = []
    for name in names:
        entity = by_name[name.lower()]
        # Cut to the answer's size before presenting: the live objects come first, then the
        # deleted ones, and only those answered are copied.
        live = [stored for stored in realm.entities[entity].values() if _updated(stored) >= since]
        changed = [call.books.present(entity, stored) for stored in live[:CDC_MAX_OBJECTS]]
        changed += [
            {
                "domain": "QBO",
                "status": "Deleted",
                "Id": entity_id,
                "MetaData": {"LastUpdatedTime": stored["MetaData"]["LastUpdatedTime"]},
            }
            for (kind, entity_id), stored in realm.deleted.items()
            if kind == entity and _updated(stored) >= since
        ][: CDC_MAX_OBJECTS - len(changed)]
        responses.append(
            {entity: changed, "startPosition": 1, "maxResults": len(changed)} if changed else {}
        )
    return 200, call.envelope(CDCResponse=[{"QueryResponse": responses}])


def _updated(stored: dict) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stored["MetaData"]["LastUpdatedTime"])


def route(call: Call, parts: list[str]):
    """parts: the path after /v3/company/{realmId}/. Returns a handler thunk or None."""
    method = call.request.method
    if parts == ["query"] and method in ("GET", "POST"):
        return lambda: query(call)
    if parts == ["batch"] and method == "POST":
        return lambda: batch(call)
    if parts == ["upload"] and method == "POST":
        return lambda: upload(call)
    if parts == ["cdc"] and method == "GET":
        return lambda: cdc(call)
    if parts == ["preferences"] and method == "GET":
        return lambda: preferences(call)
    if len(parts) == 2 and parts[0] == "companyinfo" and method == "GET":
        return lambda: company_info(call, parts[1])
    resource = parts[0].lower() if parts else ""
    if resource not in RESOURCES:
        return None
    if len(parts) == 1 and method == "POST":
        return lambda: entity_post(call, resource)
    if len(parts) == 2 and method == "GET":
        return lambda: entity_get(call, resource, parts[1])
    return None
