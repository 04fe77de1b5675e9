"""Accounting API handlers for money that moves: bank transactions (spend and receive money, and
their attachments) and payments."""

from werkzeug.wrappers import Response

from . import wire
from .api_call import (
    MAX_ATTACHMENT_BYTES,
    PREFIX,
    ApiCall,
    batch_response,
    flag_value,
    listed,
    modified_since,
    request_elements,
    saved_batch,
)
from .ledger import LedgerError
from .responses import json_response, not_found, validation_failed


def get_bank_transactions(call: ApiCall) -> Response:
    transactions = list(call.tenant.bank_transactions.values())
    since = modified_since(call)
    if since is not None:
        transactions = [t for t in transactions if t.updated >= since]
    return listed(call, "BankTransactions", transactions, call.bank_transaction_json)


def get_bank_transaction(call: ApiCall, transaction_id: str) -> Response:
    transaction = call.tenant.bank_transactions.get(transaction_id)
    if transaction is None:
        return not_found()
    return call.ok("BankTransactions", [call.bank_transaction_json(transaction)])


def _save_bank_transactions(call: ApiCall, *, allow_update: bool, transaction_id=None):
    elements = request_elements(call, "BankTransactions")
    if isinstance(elements, Response):
        return elements
    if transaction_id is not None:  # POST /BankTransactions/{id}: that one, updated
        if transaction_id not in call.tenant.bank_transactions:
            return not_found()
        first = elements[0] if elements and isinstance(elements[0], dict) else {}
        elements = [{**first, "BankTransactionID": transaction_id}]
    save = call.ledger().save_bank_transactions
    return saved_batch(
        call,
        "BankTransactions",
        elements,
        save,
        call.bank_transaction_json,
        id_field="BankTransactionID",
        allow_update=allow_update,
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


def _create_payments(call: ApiCall, *, summarize: bool) -> Response:
    elements = request_elements(call, "Payments")
    if isinstance(elements, Response):
        return elements
    results = call.ledger().create_payments(elements, summarize_errors=summarize)
    return batch_response(
        call,
        "Payments",
        results,
        call.payment_json,
        summarize=summarize,
        id_field=None,
        flag="HasValidationErrors",
    )


def put_payments(call: ApiCall) -> Response:
    return _create_payments(
        call, summarize=flag_value(call.request.args.get("summarizeErrors"), True)
    )


def post_payments(call: ApiCall) -> Response:
    return _create_payments(call, summarize=True)


def get_payments(call: ApiCall) -> Response:
    payments = list(call.tenant.payments.values())
    since = modified_since(call)
    if since is not None:  # a deleted payment too: it was modified when deleted
        payments = [p for p in payments if p.updated >= since]
    return listed(call, "Payments", payments, call.payment_json)


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
    elements = request_elements(call, "Payments")
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
