"""The Accounting API's routes (`/api.xro/2.0/...`). Each handler runs under the emulator's lock,
after authentication, tenant check, rate limiting and idempotency have been dealt with; they are
in api_organisation.py, api_invoices.py and api_payments.py, on what api_call.py shares."""

from werkzeug.routing import Rule

from .api_call import PREFIX
from .api_invoices import (
    get_attachment_content,
    get_attachments,
    get_invoice,
    get_invoices,
    post_invoice,
    post_invoices,
    put_attachment,
    put_invoices,
)
from .api_organisation import (
    get_accounts,
    get_contact,
    get_contacts,
    get_organisation,
    get_tax_rates,
    get_tracking_categories,
    put_contacts,
)
from .api_payments import (
    get_bank_transaction,
    get_bank_transaction_attachments,
    get_bank_transactions,
    get_payment,
    get_payments,
    post_bank_transaction,
    post_bank_transactions,
    post_payment,
    post_payments,
    put_bank_transaction_attachment,
    put_bank_transactions,
    put_payments,
)


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
