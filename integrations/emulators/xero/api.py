"""Handlers of the Accounting API (`/api.xro/2.0/...`). Each runs under the emulator's lock,
after authentication, tenant check, rate limiting and idempotency have been dealt with."""

from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil

from werkzeug.http import parse_date as parse_http_date
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from . import seed, wire
from .ledger import Ledger, LedgerError
from .models import Tenant
from .responses import (
    json_response,
    not_found,
    post_data_invalid,
    query_invalid,
    validation_failed,
)
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


# --- query helpers -------------------------------------------------------------------------------


def _csv(value: str | None) -> list[str]:
    """`IDs=a,b` or the SDKs' `IDs="a","b"` style."""
    return [part.strip().strip('"') for part in (value or "").split(",") if part.strip()]


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in ("true", "1", "yes")


def _filtered(call: ApiCall, items: list[dict]) -> list[dict] | Response:
    where = call.request.args.get("where")
    if not where:
        return items
    try:
        predicate = compile_where(where)
    except WhereError as exc:
        return query_invalid(str(exc))
    return [item for item in items if predicate(item)]


def _modified_since(call: ApiCall) -> float | None:
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


def _page(call: ApiCall, items: list[dict]):
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


def _elements(call: ApiCall, key: str) -> list | Response:
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


def _batch(call: ApiCall, key: str, results, serialise, *, summarize: bool, id_field, flag):
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


# --- organisation, accounts, contacts, tracking -----------------------------------------------


def get_organisation(call: ApiCall) -> Response:
    tenant = call.tenant
    organisation = {
        "OrganisationID": tenant.tenant_id,
        "Name": tenant.name,
        "LegalName": tenant.name,
        "PaysTax": True,
        "Version": "US",
        "OrganisationType": "COMPANY",
        "BaseCurrency": tenant.base_currency,
        "CountryCode": "US",
        "IsDemoCompany": True,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "CreatedDateUTC": wire.ms_timestamp(tenant.created),
        "ShortCode": "!" + tenant.tenant_id[:5],
        "Class": "DEMO",
        "Edition": "BUSINESS",
    }
    if tenant.lock_date:
        organisation["PeriodLockDate"] = wire.ms_date(tenant.lock_date)
    return call.ok("Organisations", [organisation])


def get_accounts(call: ApiCall) -> Response:
    items = [
        wire.account_json(a, base_currency=call.tenant.base_currency)
        for a in call.tenant.accounts.values()
    ]
    items = _filtered(call, items)
    return items if isinstance(items, Response) else call.ok("Accounts", items)


def get_contacts(call: ApiCall) -> Response:
    args = call.request.args
    contacts = list(call.tenant.contacts.values())
    ids = set(_csv(args.get("IDs")))
    if ids:  # asked for by id: archived ones are returned too
        contacts = [c for c in contacts if c.contact_id in ids]
    elif not _flag(args.get("includeArchived"), False):
        contacts = [c for c in contacts if c.status != "ARCHIVED"]
    items = _filtered(call, [wire.contact_json(c) for c in contacts])
    if isinstance(items, Response):
        return items
    items, pagination = _page(call, items)
    return call.ok("Contacts", items, pagination)


def get_contact(call: ApiCall, contact_id: str) -> Response:
    """getContact (and getContactByContactNumber, which shares the path): archived ones too."""
    contacts = call.tenant.contacts
    contact = contacts.get(contact_id) or next(
        (c for c in contacts.values() if c.contact_number and c.contact_number == contact_id),
        None,
    )
    if contact is None:
        return not_found()
    return call.ok("Contacts", [wire.contact_json(contact)])


def put_contacts(call: ApiCall) -> Response:
    elements = _elements(call, "Contacts")
    if isinstance(elements, Response):
        return elements
    summarize = _flag(call.request.args.get("summarizeErrors"), True)
    results = call.ledger().create_contacts(elements, summarize_errors=summarize)
    return _batch(
        call,
        "Contacts",
        results,
        wire.contact_json,
        summarize=summarize,
        id_field="ContactID",
        flag="HasValidationErrors",
    )


def get_tracking_categories(call: ApiCall) -> Response:
    include_archived = _flag(call.request.args.get("includeArchived"), False)
    categories = [
        c for c in call.tenant.tracking.values() if include_archived or c.status == "ACTIVE"
    ]
    items = [wire.tracking_category_json(c, include_archived=include_archived) for c in categories]
    items = _filtered(call, items)
    return items if isinstance(items, Response) else call.ok("TrackingCategories", items)


def get_tax_rates(call: ApiCall) -> Response:
    """getTaxRates: the seeded rates, in Xero's wire format (numbers with four decimals)."""
    items = [
        {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": tax_type,
            **{
                f"CanApplyTo{kind}": kind in applies_to
                for kind in ("Assets", "Equity", "Expenses", "Liabilities", "Revenue")
            },
            "DisplayTaxRate": float(rate),
            "EffectiveRate": float(rate),
            "Status": status,
            "TaxComponents": [{"Name": "Sales Tax", "Rate": float(rate), "IsCompound": False}],
        }
        for name, tax_type, rate, status, applies_to in seed.TAX_RATES
    ]
    items = _filtered(call, items)
    return items if isinstance(items, Response) else call.ok("TaxRates", items)


# --- invoices ----------------------------------------------------------------------------------


def get_invoices(call: ApiCall) -> Response:
    args = call.request.args
    invoices = list(call.tenant.invoices.values())
    filters = {
        "IDs": lambda inv, wanted: inv.invoice_id in wanted,
        "InvoiceNumbers": lambda inv, wanted: inv.invoice_number in wanted,
        "ContactIDs": lambda inv, wanted: inv.contact_id in wanted,
        "Statuses": lambda inv, wanted: inv.status in {s.upper() for s in wanted},
    }
    for name, matches in filters.items():
        wanted = set(_csv(args.get(name)))
        if wanted:
            invoices = [inv for inv in invoices if matches(inv, wanted)]
    since = _modified_since(call)
    if since is not None:
        invoices = [inv for inv in invoices if inv.updated >= since]
    items = _filtered(call, [call.invoice_json(inv) for inv in invoices])
    if isinstance(items, Response):
        return items
    items, pagination = _page(call, items)
    return call.ok("Invoices", items, pagination)


def _find_invoice(call: ApiCall, invoice_id: str):
    """Xero accepts an InvoiceNumber wherever an InvoiceID goes in the path."""
    invoice = call.tenant.invoices.get(invoice_id)
    if invoice is None:
        invoice = next(
            (i for i in call.tenant.invoices.values() if i.invoice_number == invoice_id), None
        )
    return invoice


def get_invoice(call: ApiCall, invoice_id: str) -> Response:
    invoice = _find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    return call.ok("Invoices", [call.invoice_json(invoice)])


def _save_invoices(call: ApiCall, *, allow_update: bool) -> Response:
    elements = _elements(call, "Invoices")
    if isinstance(elements, Response):
        return elements
    args = call.request.args
    summarize = _flag(args.get("summarizeErrors"), True)
    results = call.ledger().save_invoices(
        elements,
        summarize_errors=summarize,
        allow_update=allow_update,
        unitdp=args.get("unitdp", 2, type=int),
    )
    return _batch(
        call,
        "Invoices",
        results,
        call.invoice_json,
        summarize=summarize,
        id_field="InvoiceID",
        flag="HasErrors",
    )


def put_invoices(call: ApiCall) -> Response:
    return _save_invoices(call, allow_update=False)


def post_invoices(call: ApiCall) -> Response:
    return _save_invoices(call, allow_update=True)


def post_invoice(call: ApiCall, invoice_id: str) -> Response:
    invoice = _find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    elements = _elements(call, "Invoices")
    if isinstance(elements, Response):
        return elements
    element = elements[0] if elements else {}
    result = call.ledger().update_invoice(
        invoice, element, unitdp=call.request.args.get("unitdp", 2, type=int)
    )
    return _batch(
        call,
        "Invoices",
        [result],
        call.invoice_json,
        summarize=True,
        id_field="InvoiceID",
        flag="HasErrors",
    )


# --- bank transactions (spend / receive money) --------------------------------------------------


def get_bank_transactions(call: ApiCall) -> Response:
    transactions = list(call.tenant.bank_transactions.values())
    since = _modified_since(call)
    if since is not None:
        transactions = [t for t in transactions if t.updated >= since]
    items = _filtered(call, [call.bank_transaction_json(t) for t in transactions])
    if isinstance(items, Response):
        return items
    items, pagination = _page(call, items)
    return call.ok("BankTransactions", items, pagination)


def get_bank_transaction(call: ApiCall, transaction_id: str) -> Response:
    transaction = call.tenant.bank_transactions.get(transaction_id)
    if transaction is None:
        return not_found()
    return call.ok("BankTransactions", [call.bank_transaction_json(transaction)])


def _save_bank_transactions(call: ApiCall, *, allow_update: bool, transaction_id=None):
    elements = _elements(call, "BankTransactions")
    if isinstance(elements, Response):
        return elements
    if transaction_id is not None:  # POST /BankTransactions/{id}: that one, updated
        if transaction_id not in call.tenant.bank_transactions:
            return not_found()
        first = elements[0] if elements and isinstance(elements[0], dict) else {}
        elements = [{**first, "BankTransactionID": transaction_id}]
    args = call.request.args
    summarize = _flag(args.get("summarizeErrors"), True)
    results = call.ledger().save_bank_transactions(
        elements,
        summarize_errors=summarize,
        allow_update=allow_update,
        unitdp=args.get("unitdp", 2, type=int),
    )
    return _batch(
        call,
        "BankTransactions",
        results,
        call.bank_transaction_json,
        summarize=summarize,
        id_field="BankTransactionID",
        flag="HasErrors",
    )


def put_bank_transactions(call: ApiCall) -> Response:
    return _save_bank_transactions(call, allow_update=False)


def post_bank_transactions(call: ApiCall) -> Response:
    return _save_bank_transactions(call, allow_update=True)


def post_bank_transaction(call: ApiCall, transaction_id: str) -> Response:
    return _save_bank_transactions(call, allow_update=True, transaction_id=transaction_id)


def _bank_attachment_json(call: ApiCall, transaction, attachment) -> dict:
    return {
        "AttachmentID": attachment.attachment_id,
        "FileName": attachment.file_name,
        "Url": f"{call.base_url}{PREFIX}/BankTransactions/{transaction.bank_transaction_id}/"
        f"Attachments/{attachment.file_name}",
        "MimeType": attachment.mime_type,
        "ContentLength": len(attachment.content),
    }


def get_bank_transaction_attachments(call: ApiCall, transaction_id: str) -> Response:
    transaction = call.tenant.bank_transactions.get(transaction_id)
    if transaction is None:
        return not_found()
    items = [_bank_attachment_json(call, transaction, a) for a in transaction.attachments]
    return call.ok("Attachments", items)


def put_bank_transaction_attachment(call: ApiCall, transaction_id: str, file_name: str):
    transaction = call.tenant.bank_transactions.get(transaction_id)
    if transaction is None:
        return not_found()
    content = call.request.get_data()
    if len(content) > MAX_ATTACHMENT_BYTES:
        body = wire.problem(413, "Request Entity Too Large", "Attachments are limited to 25 MB")
        return json_response(body, 413)
    mime_type = call.request.headers.get("Content-Type") or "application/octet-stream"
    try:
        attachment = call.ledger().attach(transaction, file_name, content, mime_type, False)
    except LedgerError as exc:
        return validation_failed([str(exc)])
    return call.ok("Attachments", [_bank_attachment_json(call, transaction, attachment)])


# --- attachments -------------------------------------------------------------------------------


def get_attachments(call: ApiCall, invoice_id: str) -> Response:
    invoice = _find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    items = [wire.attachment_json(invoice, a, base_url=call.base_url) for a in invoice.attachments]
    return call.ok("Attachments", items)


def get_attachment_content(call: ApiCall, invoice_id: str, file_name: str) -> Response:
    invoice = _find_invoice(call, invoice_id)
    attachment = invoice and next(
        (
            a
            for a in invoice.attachments
            if a.file_name == file_name or a.attachment_id == file_name
        ),
        None,
    )
    if attachment is None:
        return not_found()
    return Response(attachment.content, content_type=attachment.mime_type)


def put_attachment(call: ApiCall, invoice_id: str, file_name: str) -> Response:
    invoice = _find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    content = call.request.get_data()
    if len(content) > MAX_ATTACHMENT_BYTES:
        body = wire.problem(413, "Request Entity Too Large", "Attachments are limited to 25 MB")
        return json_response(body, 413)
    mime_type = call.request.headers.get("Content-Type") or "application/octet-stream"
    online = _flag(call.request.args.get("IncludeOnline"), False)
    try:
        attachment = call.ledger().attach(invoice, file_name, content, mime_type, online)
    except LedgerError as exc:
        return validation_failed([str(exc)])
    return call.ok(
        "Attachments", [wire.attachment_json(invoice, attachment, base_url=call.base_url)]
    )


# --- payments ----------------------------------------------------------------------------------


def _create_payments(call: ApiCall, *, summarize: bool) -> Response:
    elements = _elements(call, "Payments")
    if isinstance(elements, Response):
        return elements
    results = call.ledger().create_payments(elements, summarize_errors=summarize)
    return _batch(
        call,
        "Payments",
        results,
        call.payment_json,
        summarize=summarize,
        id_field=None,
        flag="HasValidationErrors",
    )


def put_payments(call: ApiCall) -> Response:
    return _create_payments(call, summarize=_flag(call.request.args.get("summarizeErrors"), True))


def post_payments(call: ApiCall) -> Response:
    return _create_payments(call, summarize=True)


def get_payments(call: ApiCall) -> Response:
    items = _filtered(call, [call.payment_json(p) for p in call.tenant.payments.values()])
    if isinstance(items, Response):
        return items
    items, pagination = _page(call, items)
    return call.ok("Payments", items, pagination)


def get_payment(call: ApiCall, payment_id: str) -> Response:
    payment = call.tenant.payments.get(payment_id)
    if payment is None:
        return not_found()
    return call.ok("Payments", [call.payment_json(payment)])


def post_payment(call: ApiCall, payment_id: str) -> Response:
    """deletePayment: payments are never edited, only deleted (`{"Status": "DELETED"}`)."""
    payment = call.tenant.payments.get(payment_id)
    if payment is None:
        return not_found()
    elements = _elements(call, "Payments")
    if isinstance(elements, Response):
        return elements
    element = elements[0] if elements and isinstance(elements[0], dict) else {}
    if element.get("Status") != "DELETED":
        messages = ["Only the Status of a payment can be changed, and only to DELETED"]
        return validation_failed(messages, element, strict=call.strict)
    try:
        call.ledger().delete_payment(payment)
    except LedgerError as exc:
        return validation_failed([str(exc)], element, strict=call.strict)
    return call.ok("Payments", [call.payment_json(payment)])


def _rule(path: str, methods: list[str], endpoint) -> Rule:
    return Rule(PREFIX + path, methods=methods, endpoint=endpoint)


ROUTES = [
    _rule("/Organisation", ["GET"], get_organisation),
    _rule("/Accounts", ["GET"], get_accounts),
    _rule("/Contacts", ["GET"], get_contacts),
    _rule("/Contacts", ["PUT"], put_contacts),
    _rule("/Contacts/<contact_id>", ["GET"], get_contact),
    _rule("/TrackingCategories", ["GET"], get_tracking_categories),
    _rule("/TaxRates", ["GET"], get_tax_rates),
    _rule("/Invoices", ["GET"], get_invoices),
    _rule("/Invoices", ["PUT"], put_invoices),
    _rule("/Invoices", ["POST"], post_invoices),
    _rule("/Invoices/<invoice_id>", ["GET"], get_invoice),
    _rule("/Invoices/<invoice_id>", ["POST"], post_invoice),
    _rule("/Invoices/<invoice_id>/Attachments", ["GET"], get_attachments),
    _rule("/Invoices/<invoice_id>/Attachments/<file_name>", ["GET"], get_attachment_content),
    _rule("/Invoices/<invoice_id>/Attachments/<file_name>", ["PUT", "POST"], put_attachment),
    _rule("/BankTransactions", ["GET"], get_bank_transactions),
    _rule("/BankTransactions", ["PUT"], put_bank_transactions),
    _rule("/BankTransactions", ["POST"], post_bank_transactions),
    _rule("/BankTransactions/<transaction_id>", ["GET"], get_bank_transaction),
    _rule("/BankTransactions/<transaction_id>", ["POST"], post_bank_transaction),
    _rule(
        "/BankTransactions/<transaction_id>/Attachments",
        ["GET"],
        get_bank_transaction_attachments,
    ),
    _rule(
        "/BankTransactions/<transaction_id>/Attachments/<file_name>",
        ["PUT", "POST"],
        put_bank_transaction_attachment,
    ),
    _rule("/Payments", ["GET"], get_payments),
    _rule("/Payments", ["PUT"], put_payments),
    _rule("/Payments", ["POST"], post_payments),
    _rule("/Payments/<payment_id>", ["GET"], get_payment),
    _rule("/Payments/<payment_id>", ["POST"], post_payment),
]
