"""Accounting API handlers for invoices (bills and sales invoices) and their attachments."""

from werkzeug.wrappers import Response

from . import wire
from .api_call import (
    ApiCall,
    attachment_saved,
    batch_response,
    changed_since,
    csv_values,
    flag_value,
    listed,
    request_elements,
    saved_batch,
)
from .responses import not_found


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
        wanted = set(csv_values(args.get(name)))
        if wanted:
            invoices = [inv for inv in invoices if matches(inv, wanted)]
    return listed(call, "Invoices", changed_since(call, invoices), call.invoice_json)


def find_invoice(call: ApiCall, invoice_id: str):
    """Xero accepts an InvoiceNumber wherever an InvoiceID goes in the path."""
    invoice = call.tenant.invoices.get(invoice_id)
    if invoice is None:
        invoice = next(
            (i for i in call.tenant.invoices.values() if i.invoice_number == invoice_id), None
        )
    return invoice


def get_invoice(call: ApiCall, invoice_id: str) -> Response:
    invoice = find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    return call.ok("Invoices", [call.invoice_json(invoice)])


def _save_invoices(call: ApiCall, *, allow_update: bool) -> Response:
    save = call.ledger().save_invoices
    return saved_batch(
        call, "Invoices", save, call.invoice_json, id_field="InvoiceID", allow_update=allow_update
    )


def put_invoices(call: ApiCall) -> Response:
    return _save_invoices(call, allow_update=False)


def post_invoices(call: ApiCall) -> Response:
    return _save_invoices(call, allow_update=True)


def post_invoice(call: ApiCall, invoice_id: str) -> Response:
    invoice = find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    elements = request_elements(call, "Invoices")
    if isinstance(elements, Response):
        return elements
    element = elements[0] if elements else {}
    result = call.ledger().update_invoice(
        invoice, element, unitdp=call.request.args.get("unitdp", 2, type=int)
    )
    return batch_response(
        call,
        "Invoices",
        [result],
        call.invoice_json,
        summarize=True,
        id_field="InvoiceID",
        flag="HasErrors",
    )


def get_attachments(call: ApiCall, invoice_id: str) -> Response:
    invoice = find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    items = [wire.attachment_json(invoice, a, base_url=call.base_url) for a in invoice.attachments]
    return call.ok("Attachments", items)


def get_attachment_content(call: ApiCall, invoice_id: str, file_name: str) -> Response:
    invoice = find_invoice(call, invoice_id)
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
    invoice = find_invoice(call, invoice_id)
    if invoice is None:
        return not_found()
    online = flag_value(call.request.args.get("IncludeOnline"), False)
    return attachment_saved(
        call,
        invoice,
        file_name,
        lambda attachment: wire.attachment_json(invoice, attachment, base_url=call.base_url),
        online=online,
    )
