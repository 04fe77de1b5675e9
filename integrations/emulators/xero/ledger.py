"""The accounting rules of one organisation: validation, saving, payments, status changes.

Batch writes run in two passes, like Xero's (rules.two_passes): every element is checked against
the current state first, then the valid ones are saved (all or nothing when `summarize_errors` is
true). Messages quote Xero where its wording is known; README.md lists the ones that are the
emulator's own.
"""

import uuid
from datetime import date
from decimal import Decimal

from .bank_transactions import BankTransactionRules
from .invoices import InvoiceRules
from .lines import LineRules
from .models import (
    POSTED_STATUSES,
    Attachment,
    Contact,
    Invoice,
    Payment,
    Tenant,
)
from .payments import PaymentPlan, PaymentRules
from .rules import MAX_ATTACHMENTS, ElementResult, LedgerError, two_passes
from .wire import today


class Ledger(InvoiceRules, PaymentRules, BankTransactionRules, LineRules):
    """Rules applied to one tenant's records at one instant (`now`, epoch seconds): invoices
    (invoices.py), payments (payments.py), bank transactions (bank_transactions.py) and their
    lines (lines.py) are its parts; contacts, attachments and what a user does in Xero are here."""

    def __init__(self, tenant: Tenant, now: float, *, reject_due_date_before_date=True) -> None:
        self.tenant = tenant
        self.now = now
        self.reject_due_date_before_date = reject_due_date_before_date

    # --- what the parts share ----------------------------------------------------------------

    def edit_behind_back(self, invoice: Invoice, changes: dict) -> Invoice:
        """Drift: someone edits the document in Xero itself, where our API rules do not apply."""
        element = {**changes, "InvoiceID": invoice.invoice_id}
        plan, errors = self._plan_invoice(element, allow_update=True, enforce_rules=False)
        if errors:
            raise LedgerError("; ".join(errors))
        return self._apply_invoice(plan)

    def _is_locked(self, status: str, when: date) -> bool:
        lock = self.tenant.locked_through
        return lock is not None and status in POSTED_STATUSES and when <= lock

    def _noted(self, invoice: Invoice, payment: Payment | None = None) -> None:
        """The tenant's write log: when a write was applied (`now`, to the microsecond) and what
        the invoice, or payment, looks like after it. Not part of Xero's API."""
        entry = {
            "at": self.now,
            "kind": "payment" if payment else "invoice",
            "InvoiceID": invoice.invoice_id,
            "Url": invoice.url,
            "Status": invoice.status,
            "DueDate": invoice.due_date.isoformat() if invoice.due_date else None,
            "Total": str(invoice.total),
            "AmountPaid": str(invoice.amount_paid),
        }
        if payment:
            entry.update(
                PaymentID=payment.payment_id,
                PaymentStatus=payment.status,
                Amount=str(payment.amount),
            )
        self.tenant.writes.append(entry)

    def _contact_named(self, name: str) -> Contact:
        # Looked up again: an earlier element of the same batch may have created it.
        contact = self.tenant.contact_by_name(name)
        if contact is None:
            contact = Contact(contact_id=str(uuid.uuid4()), name=name, updated=self.now)
            self.tenant.contacts[contact.contact_id] = contact
        return contact

    # --- contacts ---------------------------------------------------------------------------

    def create_contacts(self, elements, *, summarize_errors: bool) -> list[ElementResult]:
        names_in_batch: set[str] = set()
        return two_passes(
            elements,
            lambda element: (element, self._contact_errors(element, names_in_batch)),
            self._apply_contact,
            summarize_errors=summarize_errors,
        )

    def _contact_errors(self, element, names_in_batch: set[str]) -> list[str]:
        if not isinstance(element, dict):
            return ["A contact must be a JSON object"]
        if element.get("ContactID"):
            return ["A ContactID cannot be given when creating a contact"]
        name = str(element.get("Name") or "").strip()
        if not name:
            return ["The contact name must be specified"]
        existing = self.tenant.contact_by_name(name)
        if (existing and existing.status == "ACTIVE") or name.casefold() in names_in_batch:
            return [
                f"The contact name {name} is already assigned to another contact. The contact "
                "name must be unique across all active contacts."
            ]
        names_in_batch.add(name.casefold())
        return []

    def _apply_contact(self, element: dict) -> Contact:
        contact = Contact(
            contact_id=str(uuid.uuid4()),
            name=str(element["Name"]).strip(),
            updated=self.now,
            contact_number=element.get("ContactNumber") or None,
            email_address=element.get("EmailAddress") or None,
        )
        self.tenant.contacts[contact.contact_id] = contact
        return contact

    # --- attachments ------------------------------------------------------------------------

    def attach(self, invoice: Invoice, file_name: str, content: bytes, mime_type: str, online):
        if not content:
            raise LedgerError("The attachment is empty")
        others = [a for a in invoice.attachments if a.file_name.casefold() != file_name.casefold()]
        if len(others) >= MAX_ATTACHMENTS:
            raise LedgerError(f"A document can have at most {MAX_ATTACHMENTS} attachments")
        attachment = Attachment(str(uuid.uuid4()), file_name, mime_type, content, online)
        # Uploading a file name again replaces that file.
        invoice.attachments = [*others, attachment]
        return attachment

    # --- what someone does in Xero's own UI (control API) -----------------------------------

    def book(self, invoice: Invoice, paid_on: date | None = None) -> Payment:
        """Mark the invoice paid in full from the first bank account (approving it if need be)."""
        if invoice.status in ("DRAFT", "SUBMITTED"):
            invoice.status = "AUTHORISED"
        if invoice.status != "AUTHORISED" or invoice.amount_due <= 0:
            raise LedgerError(f"A {invoice.status} invoice with nothing due cannot be booked")
        bank = next(
            a for a in self.tenant.accounts.values() if a.type == "BANK" and a.status == "ACTIVE"
        )
        plan = PaymentPlan(
            invoice,
            bank.account_id,
            paid_on or today(self.now),
            invoice.amount_due,
            "Paid in Xero",
            Decimal("1"),
        )
        return self._apply_payment(plan)

    def void(self, invoice: Invoice) -> Invoice:
        """Void as a user would: remove its payments first, then void."""
        if invoice.status in ("VOIDED", "DELETED"):
            raise LedgerError(f"The invoice is already {invoice.status}")
        for payment_id in invoice.payment_ids:
            payment = self.tenant.payments[payment_id]
            if payment.status == "AUTHORISED":
                payment.status, payment.updated = "DELETED", self.now
                invoice.amount_paid -= payment.amount
        invoice.status, invoice.fully_paid_on, invoice.updated = "VOIDED", None, self.now
        self._noted(invoice)
        return invoice
