"""Invoices (bills and sales invoices): each element of a batch planned against the current
state, then the valid ones saved."""

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .models import INVOICE_TYPES, ZERO, Contact, Invoice, LineItem
from .rules import (
    ARCHIVED_CONTACT,
    CREATABLE_STATUSES,
    INVOICE_STATUSES,
    LOCKED,
    NOT_EDITABLE,
    TRANSITIONS,
    ElementResult,
    two_passes,
)
from .wire import parse_date, today


@dataclass
class InvoicePlan:
    existing: Invoice | None
    type: str
    contact: Contact | None
    new_contact_name: str | None
    invoice_number: str | None
    reference: str
    url: str | None
    date: date
    due_date: date | None
    status: str
    line_amount_types: str
    currency_code: str
    currency_rate: Decimal
    lines: list[LineItem]


class InvoiceRules:
    """The ledger's rules for invoices (a part of `Ledger`)."""

    def save_invoices(self, elements, *, summarize_errors: bool, allow_update: bool, unitdp=2):
        numbers_in_batch: set[str] = set()
        return two_passes(
            elements,
            lambda element: self._plan_invoice(
                element, allow_update=allow_update, unitdp=unitdp, batch_numbers=numbers_in_batch
            ),
            self._apply_invoice,
            summarize_errors=summarize_errors,
        )

    def update_invoice(self, invoice: Invoice, element, *, unitdp=2) -> ElementResult:
        element = {**element, "InvoiceID": invoice.invoice_id} if isinstance(element, dict) else {}
        results = self.save_invoices(
            [element], summarize_errors=True, allow_update=True, unitdp=unitdp
        )
        return results[0]

    def _plan_invoice(
        self, element, *, allow_update, unitdp=2, batch_numbers=None, enforce_rules=True
    ):
        if not isinstance(element, dict):
            return None, ["An invoice must be a JSON object"]
        existing = None
        if element.get("InvoiceID"):
            existing = self.tenant.invoices.get(str(element["InvoiceID"]))
            if existing is None:
                return None, [f"Invoice with InvoiceID '{element['InvoiceID']}' could not be found"]
            if not allow_update:
                return None, ["An invoice with this InvoiceID exists already; POST to update it"]
            if enforce_rules and not existing.is_editable:
                return None, [NOT_EDITABLE]
            if enforce_rules and self._is_locked(existing.status, existing.date):
                return None, [LOCKED]

        errors: list[str] = []
        type_ = self._invoice_type(element, existing, errors)
        contact, new_contact_name = self._resolve_contact(
            element.get("Contact"), existing, errors, enforce_rules
        )
        default_date = existing.date if existing else today(self.now)
        invoice_date = self._date(element, "Date", default_date, errors)
        due_date = self._date(element, "DueDate", existing.due_date if existing else None, errors)
        if (
            self.reject_due_date_before_date
            and invoice_date
            and due_date
            and due_date < invoice_date
        ):
            errors.append("The DueDate cannot be before the invoice Date")
        status = self._status(element, existing, errors, enforce_rules)
        currency_code, currency_rate, line_amount_types = self._money_terms(
            element, existing, errors
        )
        invoice_number = self._invoice_number(element, existing, type_, errors, batch_numbers)
        url = element.get("Url", existing.url if existing else None)
        if url and not re.match(r"^https?://\S+$", str(url)):
            errors.append("The Url must be an absolute http or https URL")
        lines = self._lines(element, existing, unitdp, errors)
        if status in ("SUBMITTED", "AUTHORISED") and any(
            line.account_code is None and line.line_amount != ZERO for line in lines
        ):
            errors.append("An AccountCode must be specified on every line of an approved document")
        if "Total" in element and lines and not errors:
            self._check_total(element["Total"], lines, errors)
        if enforce_rules and invoice_date and self._is_locked(status, invoice_date):
            errors.append(LOCKED)
        if errors:
            return None, errors
        plan = InvoicePlan(
            existing=existing,
            type=type_,
            contact=contact,
            new_contact_name=new_contact_name,
            invoice_number=invoice_number,
            reference=str(element.get("Reference", existing.reference if existing else "") or ""),
            url=url or None,
            date=invoice_date,
            due_date=due_date,
            status=status,
            line_amount_types=line_amount_types,
            currency_code=currency_code,
            currency_rate=currency_rate,
            lines=lines,
        )
        return plan, []

    def _invoice_type(self, element, existing, errors) -> str | None:
        type_ = element.get("Type", existing.type if existing else None)
        if not type_:
            errors.append("Invoice Type must be specified")
        elif type_ not in INVOICE_TYPES:
            errors.append(f"'{type_}' is not a valid invoice Type; use ACCPAY or ACCREC")
        elif existing and type_ != existing.type:
            errors.append("The Type of an existing invoice cannot be changed")
        return type_

    def _resolve_contact(self, raw, existing, errors, enforce_rules):
        """Returns (contact, name of a contact to create). Xero matches `Name` or creates it."""
        if raw is None:
            if existing:
                return self.tenant.contacts[existing.contact_id], None
            errors.append("A Contact must be specified for this type of transaction")
            return None, None
        if not isinstance(raw, dict):
            errors.append("Contact must be a JSON object")
            return None, None
        contact = None
        contact_id, number = raw.get("ContactID"), raw.get("ContactNumber")
        name = str(raw.get("Name") or "").strip()
        if contact_id:
            contact = self.tenant.contacts.get(str(contact_id))
            if contact is None:
                errors.append(f"The contact with ContactID '{contact_id}' does not exist")
                return None, None
        elif number:
            contact = next(
                (c for c in self.tenant.contacts.values() if c.contact_number == number), None
            )
            if contact is None and not name:
                errors.append(f"The contact with ContactNumber '{number}' does not exist")
                return None, None
        if contact is None:
            if not name:
                errors.append("A Contact must be specified for this type of transaction")
                return None, None
            contact = self.tenant.contact_by_name(name)
            if contact is None:
                return None, name
        changed = existing is None or existing.contact_id != contact.contact_id
        if enforce_rules and changed and contact.status == "ARCHIVED":
            errors.append(ARCHIVED_CONTACT)
        return contact, None

    def _date(self, element, key, default, errors) -> date | None:
        raw = element.get(key)
        if raw in (None, ""):
            return default
        try:
            return parse_date(raw)
        except ValueError:
            errors.append(f"'{raw}' is not a valid {key}; use YYYY-MM-DD")
            return default

    def _status(self, element, existing, errors, enforce_rules) -> str:
        requested = element.get("Status")
        if requested is not None and requested not in INVOICE_STATUSES:
            errors.append(f"'{requested}' is not a valid invoice Status")
            return existing.status if existing else "DRAFT"
        if existing is None:
            status = requested or "DRAFT"
            if status not in CREATABLE_STATUSES:
                errors.append(f"An invoice cannot be created with a Status of {status}")
            return status
        status = requested or existing.status
        if status == existing.status:
            return status
        if status == "PAID" or (enforce_rules and status not in TRANSITIONS[existing.status]):
            errors.append(NOT_EDITABLE)
        return status

    def _invoice_number(self, element, existing, type_, errors, batch_numbers) -> str | None:
        if "InvoiceNumber" not in element:
            return existing.invoice_number if existing else None
        number = str(element["InvoiceNumber"] or "")
        if len(number) > 255:
            errors.append("InvoiceNumber must be 255 characters or fewer")
        # Only sales invoice numbers are unique in Xero; supplier bill numbers may repeat.
        if type_ == "ACCREC" and number:
            taken = any(
                inv.type == "ACCREC"
                and inv.invoice_number == number
                and inv is not existing
                and inv.status != "DELETED"
                for inv in self.tenant.invoices.values()
            )
            if taken or (batch_numbers is not None and number in batch_numbers):
                errors.append("Invoice # must be unique.")
            if batch_numbers is not None:
                batch_numbers.add(number)
        return number

    def _apply_invoice(self, plan: InvoicePlan) -> Invoice:
        contact = plan.contact or self._contact_named(plan.new_contact_name)
        if plan.type == "ACCPAY":
            contact.is_supplier = True
        else:
            contact.is_customer = True
        invoice = plan.existing
        if invoice is None:
            number = plan.invoice_number
            if number is None:
                number = self._next_sales_number() if plan.type == "ACCREC" else ""
            invoice = Invoice(
                invoice_id=str(uuid.uuid4()),
                type=plan.type,
                contact_id=contact.contact_id,
                invoice_number=number,
                date=plan.date,
                due_date=plan.due_date,
                status=plan.status,
                line_amount_types=plan.line_amount_types,
                currency_code=plan.currency_code,
                line_items=plan.lines,
                updated=self.now,
            )
            self.tenant.invoices[invoice.invoice_id] = invoice
        else:
            invoice.contact_id = contact.contact_id
            invoice.invoice_number = plan.invoice_number
            invoice.date, invoice.due_date = plan.date, plan.due_date
            invoice.status = plan.status
            invoice.line_amount_types = plan.line_amount_types
            invoice.currency_code = plan.currency_code
            invoice.line_items = plan.lines
        invoice.reference, invoice.url = plan.reference, plan.url
        invoice.currency_rate = plan.currency_rate
        invoice.updated = self.now
        # As in Xero, approving a zero-total document leaves nothing to pay: it is PAID at once.
        if invoice.status == "AUTHORISED" and invoice.total == ZERO and invoice.amount_paid == ZERO:
            invoice.status, invoice.fully_paid_on = "PAID", invoice.date
        self._noted(invoice)
        return invoice

    def _next_sales_number(self) -> str:
        taken = {i.invoice_number for i in self.tenant.invoices.values() if i.type == "ACCREC"}
        while f"INV-{self.tenant.next_sales_number:04d}" in taken:
            self.tenant.next_sales_number += 1
        number = f"INV-{self.tenant.next_sales_number:04d}"
        self.tenant.next_sales_number += 1
        return number
