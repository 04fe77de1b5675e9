"""One authorised Accounting API call (`ApiCall`) and what its handlers share: paging, `where`
filtering, If-Modified-Since, the elements of a batch and its answer."""

from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil

from werkzeug.http import parse_date as parse_http_date
from werkzeug.wrappers import Request, Response

from . import wire
from .ledger import Ledger
from .models import Tenant
from .responses import json_response, post_data_invalid, query_invalid, validation_failed
from .rules import LedgerError
from .where import WhereError, compile_where

PREFIX = "/api.xro/2.0"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


@dataclass
class ApiCall:
    """One authorised Accounting API call."""

    request: Request
    tenant: Tenant
    now: float
    strict: bool
    provider: str
    reject_due_date_before_date: bool

    def ledger(self) -> Ledger:
        return Ledger(
            self.tenant, self.now, reject_due_date_before_date=self.reject_due_date_before_date
        )

    def ok(self, key: str, items: list, pagination=None) -> Response:
        body = wire.envelope(
            key,
            items,
            now=self.now,
            provider=self.provider,
            strict=self.strict,
            pagination=pagination,
        )
        return json_response(body)

    def invoice_json(self, invoice) -> dict:
        return wire.invoice_json(self.tenant, invoice, strict=self.strict)

    def bank_transaction_json(self, transaction) -> dict:
        return wire.bank_transaction_json(self.tenant, transaction, strict=self.strict)

    def payment_json(self, payment) -> dict:
        return wire.payment_json(self.tenant, payment, strict=self.strict)

    @property
    def base_url(self) -> str:
        return self.request.host_url.rstrip("/")


def csv_values(value: str | None) -> list[str]:
    """`IDs=a,b` or the SDKs' `IDs="a","b"` style."""
    return [part.strip().strip('"') for part in (value or "").split(",") if part.strip()]


def flag_value(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in ("true", "1", "yes")


def where_filtered(call: ApiCall, items: list[dict]) -> list[dict] | Response:
    where = call.request.args.get("where")
    if not where:
        return items
    try:
        predicate = compile_where(where)
    except WhereError as exc:
        return query_invalid(str(exc))
    return [item for item in items if predicate(item)]


def listed(call: ApiCall, key: str, records: list, serialise) -> Response:
    """A list answer: `records` (already narrowed by the model's own filters) narrowed by
    `where`, paged, and only the page serialised. A `where` reads the serialised form, so with
    one every record left is serialised to test it; without one a page costs its own size,
    not the ledger's (a reconcile reads 100,000 invoices a page at a time)."""
    if not call.request.args.get("where"):
        page, pagination = paged(call, records)
        return call.ok(key, [serialise(record) for record in page], pagination)
    items = where_filtered(call, [serialise(record) for record in records])
    if isinstance(items, Response):
        return items
    items, pagination = paged(call, items)
    return call.ok(key, items, pagination)


def changed_since(call: ApiCall, records: list) -> list:
    """The records changed at or after the call's If-Modified-Since (all without one): a record
    deleted or voided too, since that changed it."""
    since = modified_since(call)
    return records if since is None else [r for r in records if r.updated >= since]


def attachment_saved(call: ApiCall, owner, file_name: str, serialise, *, online: bool) -> Response:
    """The request's body attached to an invoice or bank transaction as `file_name` (a file of
    that name replaced), answered as `serialise(attachment)`."""
    content = call.request.get_data()
    if len(content) > MAX_ATTACHMENT_BYTES:
        body = wire.problem(413, "Request Entity Too Large", "Attachments are limited to 25 MB")
        return json_response(body, 413)
    mime_type = call.request.headers.get("Content-Type") or "application/octet-stream"
    try:
        attachment = call.ledger().attach(owner, file_name, content, mime_type, online)
    except LedgerError as exc:
        return validation_failed([str(exc)])
    return call.ok("Attachments", [serialise(attachment)])


def modified_since(call: ApiCall) -> float | None:
    raw = call.request.headers.get("If-Modified-Since")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = parse_http_date(raw)
    if moment is None:
        return None
    if moment.tzinfo is None:  # Xero reads zone-less timestamps as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def paged(call: ApiCall, items: list):
    """Xero pages only when `page` is given: 100 per page unless pageSize says otherwise."""
    page = call.request.args.get("page", type=int)
    if page is None:
        return items, None
    size = min(call.request.args.get("pageSize", PAGE_SIZE, type=int) or PAGE_SIZE, MAX_PAGE_SIZE)
    page = max(page, 1)
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": ceil(len(items) / size),
        "itemCount": len(items),
    }
    return items[(page - 1) * size : page * size], pagination


def request_elements(call: ApiCall, key: str) -> list | Response:
    """The objects of a write: `{"Invoices": [...]}`, a single object, or a bare list."""
    try:
        body = wire.loads(call.request.get_data())
    except (ValueError, UnicodeDecodeError):
        return post_data_invalid("The request body is not valid JSON")
    if isinstance(body, dict) and key in body:
        body = body[key]
    elif isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return post_data_invalid(f"Expected a list of {key}")
    return body


def batch_response(call: ApiCall, key: str, results, serialise, *, summarize: bool, id_field, flag):
    """Xero's two answers: 400 listing the failed elements, or 200 with every element
    (failed ones marked StatusAttributeString ERROR when summarizeErrors=false)."""
    if summarize and any(r.errors for r in results):
        elements = [
            wire.error_element(r.submitted, r.errors, id_field=id_field, strict=call.strict)
            for r in results
            if r.errors
        ]
        return json_response(wire.validation_error(elements), 400)
    items = []
    for result in results:
        if result.errors:
            item = wire.failed_item(
                result.submitted, result.errors, id_field=id_field, flag=flag, strict=call.strict
            )
        else:
            item = {**serialise(result.record), "StatusAttributeString": "OK"}
        items.append(item)
    return call.ok(key, items)


def saved_batch(call: ApiCall, key: str, save, serialise, *, id_field, allow_update, elements=None):
    """A batch of invoices or bank transactions saved by the ledger's `save` (with the call's
    summarizeErrors and unitdp), answered element by element as Xero does. `elements`: the
    request's (`{key: [...]}`) unless given."""
    if elements is None:
        elements = request_elements(call, key)
        if isinstance(elements, Response):
            return elements
    args = call.request.args
    summarize = flag_value(args.get("summarizeErrors"), True)
    results = save(
        elements,
        summarize_errors=summarize,
        allow_update=allow_update,
        unitdp=args.get("unitdp", 2, type=int),
    )
    return batch_response(
        call,
        key,
        results,
        serialise,
        summarize=summarize,
        id_field=id_field,
        flag="HasErrors",
    )
