"""Accounting API handlers for money that moves: bank transactions (spend and receive money, and
their attachments) and payments."""

from werkzeug.wrappers import Response

from .api_call import (
    PREFIX,
    ApiCall,
    attachment_saved,
    batch_response,
    changed_since,
    flag_value,
    listed,
    request_elements,
    saved_batch,
)
from .ledger import LedgerError
from .responses import not_found, validation_failed


def get_bank_transactions(call: ApiCall) -> Response:
    transactions = changed_since(call, list(call.tenant.bank_transactions.values()))
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
        save,
        call.bank_transaction_json,
        id_field="BankTransactionID",
        allow_update=allow_update,
        elements=elements,
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
    return attachment_saved(
        call,
        transaction,
        file_name,
        lambda attachment: _bank_attachment_json(call, transaction, attachment),
        online=False,
    )


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
    payments = changed_since(call, list(call.tenant.payments.values()))
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
