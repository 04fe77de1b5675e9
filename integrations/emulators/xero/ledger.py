"""The accounting rules of one organisation: validation, saving, payments, status changes.

Batch writes run in two passes, like Xero's: every element is checked against the current state
first, then the valid ones are saved (all or nothing when `summarize_errors` is true). Messages
quote Xero where its wording is known; README.md lists the ones that are the emulator's own.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .models import (
    BANK_TRANSACTION_TYPES,
    INVOICE_TYPES,
    POSTED_STATUSES,
    ZERO,
    Attachment,
    BankTransaction,
    Contact,
    Invoice,
    LineItem,
    LineTracking,
    Payment,
    Tenant,
)
from .seed import TAX_RATES
from .wire import parse_date, to_decimal, today

INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
CREATABLE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
# Status changes a client may ask for (PAID is only ever set by payments).
TRANSITIONS = {
    "DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"VOIDED"},
}
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
MAX_TRACKING_PER_LINE = 2
MAX_ATTACHMENTS = 10
CENT = Decimal("0.01")

NOT_EDITABLE = "Invoice not of valid status for modification"
LOCKED = "The document date cannot be before the period lock date"
ARCHIVED_CONTACT = (
    "The contact has been archived. Transactions cannot be created for archived contacts."
)
TOTAL_MISMATCH = "The total for this document does not match the sum of the line items"
OVERPAYMENT = "Payment amount exceeds the amount outstanding on this document"
# The emulator's own wording (README): Xero's is not published.
NOT_A_BANK_ACCOUNT = "The BankAccount must be an active bank account of the organisation"
BANK_RECONCILED = (
    "This Bank Transaction cannot be edited as it has been reconciled with a Bank Statement."
)
NOT_AUTHORISED = "Payments can only be made against Authorised documents"


class LedgerError(ValueError):
    """A request the rules refuse outside a batch (control API, attachments)."""


@dataclass
class ElementResult:
    """The outcome for one element of a batch: errors, or the record it saved."""

    submitted: object
    errors: list[str] = field(default_factory=list)
    record: object = None


@dataclass
class _InvoicePlan:
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


@dataclass
class _PaymentPlan:
    invoice: Invoice
    account_id: str
    date: date
    amount: Decimal
    reference: str
    currency_rate: Decimal


class Ledger:
    """Rules applied to one tenant's records at one instant (`now`, epoch seconds)."""

    def __init__(self, tenant: Tenant, now: float, *, reject_due_date_before_date=True) -> None:
        self.tenant = tenant
        self.now = now
        self.reject_due_date_before_date = reject_due_date_before_date

    # --- invoices ---------------------------------------------------------------------------

    def save_invoices(self, elements, *, summarize_errors: bool, allow_update: bool, unitdp=2):
        results: list[ElementResult] = []
        plans: list[_InvoicePlan | None] = []
        numbers_in_batch: set[str] = set()
        for element in elements:
            plan, errors = self._plan_invoice(
                element, allow_update=allow_update, unitdp=unitdp, batch_numbers=numbers_in_batch
            )
            results.append(ElementResult(element, errors))
            plans.append(plan)
        if summarize_errors and any(r.errors for r in results):
            return results
        for result, plan in zip(results, plans, strict=True):
            if not result.errors:
                result.record = self._apply_invoice(plan)
        return results

    def update_invoice(self, invoice: Invoice, element, *, unitdp=2) -> ElementResult:
        element = {**element, "InvoiceID": invoice.invoice_id} if isinstance(element, dict) else {}
        results = self.save_invoices(
            [element], summarize_errors=True, allow_update=True, unitdp=unitdp
        )
        return results[0]

    def edit_behind_back(self, invoice: Invoice, changes: dict) -> Invoice:
        """Drift: someone edits the document in Xero itself, where our API rules do not apply."""
        element = {**changes, "InvoiceID": invoice.invoice_id}
        plan, errors = self._plan_invoice(element, allow_update=True, enforce_rules=False)
        if errors:
            raise LedgerError("; ".join(errors))
        return self._apply_invoice(plan)

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
        currency_code = element.get(
            "CurrencyCode", existing.currency_code if existing else self.tenant.base_currency
        )
        if not isinstance(currency_code, str) or not CURRENCY_CODE.match(currency_code):
            errors.append(f"'{currency_code}' is not a valid currency code")
        currency_rate = self._currency_rate(element, existing, errors)
        line_amount_types = element.get(
            "LineAmountTypes", existing.line_amount_types if existing else "Exclusive"
        )
        if line_amount_types not in LINE_AMOUNT_TYPES:
            errors.append(f"'{line_amount_types}' is not a valid value for LineAmountTypes")
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
        plan = _InvoicePlan(
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

    def _currency_rate(self, element, existing, errors) -> Decimal:
        if element.get("CurrencyRate") is None:
            return existing.currency_rate if existing else Decimal("1")
        try:
            rate = to_decimal(element["CurrencyRate"], "CurrencyRate")
        except ValueError as exc:
            errors.append(str(exc))
            return Decimal("1")
        if rate <= 0:
            errors.append("CurrencyRate must be greater than zero")
        return rate

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

    def _lines(self, element, existing, unitdp, errors) -> list[LineItem]:
        if "LineItems" not in element:
            lines = list(existing.line_items) if existing else []
        elif not isinstance(element["LineItems"], list):
            errors.append("LineItems must be a list")
            return []
        else:
            # Sending LineItems replaces the set; a known LineItemID keeps (and updates) a line.
            known = {line.line_item_id: line for line in existing.line_items} if existing else {}
            lines = [
                line
                for raw in element["LineItems"]
                if (line := self._line(raw, known, unitdp, errors)) is not None
            ]
            if len(lines) < len(element["LineItems"]):
                return lines
        if not lines:
            errors.append("At least one line item must be specified")
        return lines

    def _line(self, raw, known: dict, unitdp: int, errors) -> LineItem | None:
        if not isinstance(raw, dict):
            errors.append("Each line item must be a JSON object")
            return None
        base = known.get(str(raw.get("LineItemID") or ""))
        problems: list[str] = []
        amounts = self._line_amounts(raw, base, unitdp, problems)
        account = self._line_account(raw, base, problems)
        tracking = self._line_tracking(raw, base, problems)
        errors.extend(problems)
        if problems:
            return None
        quantity, unit_amount, line_amount = amounts
        default_tax = account.tax_type if account else "NONE"
        return LineItem(
            line_item_id=base.line_item_id if base else str(uuid.uuid4()),
            description=str(raw.get("Description", base.description if base else "") or ""),
            quantity=quantity,
            unit_amount=unit_amount,
            line_amount=line_amount,
            account_code=account.code if account else None,
            account_id=account.account_id if account else None,
            tax_type=str(raw.get("TaxType") or (base.tax_type if base else default_tax)),
            tracking=tracking,
            item_code=raw.get("ItemCode", base.item_code if base else None),
        )

    def _line_amounts(self, raw, base, unitdp, problems):
        try:
            qty, unit, amount = (
                to_decimal(raw[key], key) if raw.get(key) is not None else None
                for key in ("Quantity", "UnitAmount", "LineAmount")
            )
        except ValueError as exc:
            problems.append(str(exc))
            return None
        unit_places = Decimal(1).scaleb(-4 if unitdp == 4 else -2)
        if base and qty is None and unit is None and amount is None:
            return base.quantity, base.unit_amount, base.line_amount
        if base and amount is None:
            qty = qty if qty is not None else base.quantity
            unit = unit if unit is not None else base.unit_amount
        qty = (qty if qty is not None else Decimal(1)).quantize(Decimal("0.0001"))
        if unit is None and amount is None:  # a description-only line
            return qty, ZERO, ZERO
        if unit is None:
            if qty == 0:
                problems.append("Quantity cannot be zero when only a LineAmount is given")
                return None
            return qty, (amount / qty).quantize(unit_places, ROUND_HALF_UP), amount.quantize(CENT)
        unit = unit.quantize(unit_places, ROUND_HALF_UP)
        computed = (qty * unit).quantize(CENT, ROUND_HALF_UP)
        if amount is not None and amount.quantize(CENT, ROUND_HALF_UP) != computed:
            problems.append(
                f"The LineAmount {amount} does not equal Quantity x UnitAmount ({computed})"
            )
            return None
        return qty, unit, computed

    def _line_account(self, raw, base, problems):
        if raw.get("AccountID"):
            account = self.tenant.accounts.get(str(raw["AccountID"]))
            label = f"AccountID '{raw['AccountID']}'"
        elif raw.get("AccountCode") not in (None, ""):
            account = self.tenant.account_by_code(str(raw["AccountCode"]))
            label = f"Account code '{raw['AccountCode']}'"
        elif base and "AccountCode" not in raw and base.account_id:
            return self.tenant.accounts.get(base.account_id)
        else:
            return None
        # Bank accounts cannot be coded on invoice lines; archived accounts take no new entries.
        if account is None or account.status != "ACTIVE" or account.type == "BANK":
            problems.append(f"{label} is not a valid code for this document.")
            return None
        return account

    def _line_tracking(self, raw, base, problems) -> list[LineTracking]:
        if raw.get("Tracking") is None:
            return list(base.tracking) if base else []
        entries = raw["Tracking"]
        if not isinstance(entries, list):
            problems.append("Tracking must be a list")
            return []
        if len(entries) > MAX_TRACKING_PER_LINE:
            problems.append("A line item can have at most 2 tracking categories")
            return []
        resolved: list[LineTracking] = []
        for entry in entries:
            tracking = self._tracking(entry, problems)
            if tracking and any(t.category_id == tracking.category_id for t in resolved):
                problems.append(f"Tracking category '{tracking.category_name}' is used twice")
            elif tracking:
                resolved.append(tracking)
        return resolved

    def _tracking(self, entry, problems) -> LineTracking | None:
        if not isinstance(entry, dict):
            problems.append("Each tracking entry must be a JSON object")
            return None
        categories = [c for c in self.tenant.tracking.values() if c.status == "ACTIVE"]
        wanted_id, wanted_name = entry.get("TrackingCategoryID"), str(entry.get("Name") or "")
        category = next(
            (
                c
                for c in categories
                if c.category_id == wanted_id
                or (not wanted_id and c.name.casefold() == wanted_name.casefold())
            ),
            None,
        )
        if category is None:
            problems.append(f"Tracking category '{wanted_id or wanted_name}' does not exist")
            return None
        option_id, option_name = entry.get("TrackingOptionID"), str(entry.get("Option") or "")
        option = next(
            (
                o
                for o in category.options
                if o.status == "ACTIVE"
                and (
                    o.option_id == option_id
                    or (not option_id and o.name.casefold() == option_name.casefold())
                )
            ),
            None,
        )
        if option is None:
            problems.append(
                f"Tracking option '{option_id or option_name}' is not valid for tracking "
                f"category '{category.name}'"
            )
            return None
        return LineTracking(category.category_id, category.name, option.option_id, option.name)

    def _check_total(self, raw_total, lines, errors) -> None:
        try:
            total = to_decimal(raw_total, "Total")
        except ValueError as exc:
            errors.append(str(exc))
            return
        if total.quantize(CENT, ROUND_HALF_UP) != sum((line.line_amount for line in lines), ZERO):
            errors.append(TOTAL_MISMATCH)

    def _is_locked(self, status: str, when: date) -> bool:
        lock = self.tenant.lock_date
        return lock is not None and status in POSTED_STATUSES and when <= lock

    def _apply_invoice(self, plan: _InvoicePlan) -> Invoice:
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

    def _next_sales_number(self) -> str:
        taken = {i.invoice_number for i in self.tenant.invoices.values() if i.type == "ACCREC"}
        while f"INV-{self.tenant.next_sales_number:04d}" in taken:
            self.tenant.next_sales_number += 1
        number = f"INV-{self.tenant.next_sales_number:04d}"
        self.tenant.next_sales_number += 1
        return number

    # --- payments ---------------------------------------------------------------------------

    def create_payments(self, elements, *, summarize_errors: bool) -> list[ElementResult]:
        outstanding: dict[str, Decimal] = {}  # amount still due as this batch is checked
        results, plans = [], []
        for element in elements:
            plan, errors = self._plan_payment(element, outstanding)
            results.append(ElementResult(element, errors))
            plans.append(plan)
        if summarize_errors and any(r.errors for r in results):
            return results
        for result, plan in zip(results, plans, strict=True):
            if not result.errors:
                result.record = self._apply_payment(plan)
        return results

    def _plan_payment(self, element, outstanding):
        if not isinstance(element, dict):
            return None, ["A payment must be a JSON object"]
        errors: list[str] = []
        invoice = self._payment_invoice(element, errors)
        account = self._payment_account(element, errors)
        amount = None
        try:
            amount = to_decimal(element.get("Amount"), "Amount").quantize(CENT, ROUND_HALF_UP)
            if amount <= 0:
                errors.append("The payment Amount must be greater than zero")
        except ValueError:
            errors.append("A payment Amount must be specified")
        paid_on = self._date(element, "Date", today(self.now), errors)
        rate = self._currency_rate(element, None, errors)
        due = None
        if invoice is not None:
            due = outstanding.get(invoice.invoice_id, invoice.amount_due)
            if invoice.status != "AUTHORISED":
                errors.append(NOT_AUTHORISED)
            elif amount is not None and amount > due:
                errors.append(OVERPAYMENT)
        if self.tenant.lock_date and paid_on and paid_on <= self.tenant.lock_date:
            errors.append("The payment date cannot be before the period lock date")
        if errors:
            return None, errors
        outstanding[invoice.invoice_id] = due - amount
        reference = str(element.get("Reference") or "")
        return _PaymentPlan(invoice, account.account_id, paid_on, amount, reference, rate), []

    def _payment_invoice(self, element, errors) -> Invoice | None:
        ref = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
        invoice_id = ref.get("InvoiceID")
        number = ref.get("InvoiceNumber") or element.get("InvoiceNumber")
        if invoice_id:
            invoice = self.tenant.invoices.get(str(invoice_id))
        elif number:
            candidates = [i for i in self.tenant.invoices.values() if i.invoice_number == number]
            authorised = [i for i in candidates if i.status == "AUTHORISED"]
            invoice = (authorised or candidates or [None])[0]
        else:
            errors.append("An Invoice (InvoiceID or InvoiceNumber) must be specified")
            return None
        if invoice is None:
            errors.append("Invoice could not be found")
        return invoice

    def _payment_account(self, element, errors):
        ref = element.get("Account") if isinstance(element.get("Account"), dict) else {}
        code = ref.get("Code") or element.get("Code")
        if ref.get("AccountID"):
            account = self.tenant.accounts.get(str(ref["AccountID"]))
        elif code:
            account = self.tenant.account_by_code(str(code))
        else:
            errors.append("An Account (AccountID or Code) must be specified for the payment")
            return None
        if account is None:
            errors.append("Account could not be found")
        elif not account.accepts_payments:
            errors.append(
                f"Account code '{account.code}' is not a bank account or an account that "
                "accepts payments"
            )
            return None
        return account

    def _apply_payment(self, plan: _PaymentPlan) -> Payment:
        invoice = plan.invoice
        payment = Payment(
            payment_id=str(uuid.uuid4()),
            invoice_id=invoice.invoice_id,
            account_id=plan.account_id,
            date=plan.date,
            amount=plan.amount,
            payment_type="ACCPAYPAYMENT" if invoice.type == "ACCPAY" else "ACCRECPAYMENT",
            reference=plan.reference,
            currency_rate=plan.currency_rate,
            updated=self.now,
        )
        self.tenant.payments[payment.payment_id] = payment
        invoice.payment_ids.append(payment.payment_id)
        invoice.amount_paid += payment.amount
        invoice.updated = self.now
        if invoice.amount_due == ZERO:
            invoice.status = "PAID"
            invoice.fully_paid_on = max(
                self.tenant.payments[pid].date
                for pid in invoice.payment_ids
                if self.tenant.payments[pid].status == "AUTHORISED"
            )
        self._noted(invoice, payment)
        return payment

    def delete_payment(self, payment: Payment) -> Payment:
        if payment.status == "DELETED":
            raise LedgerError("This payment has already been deleted")
        if self.tenant.lock_date and payment.date <= self.tenant.lock_date:
            raise LedgerError("The payment date cannot be before the period lock date")
        invoice = self.tenant.invoices[payment.invoice_id]
        payment.status, payment.updated = "DELETED", self.now
        invoice.amount_paid -= payment.amount
        invoice.updated = self.now
        if invoice.status == "PAID":
            invoice.status, invoice.fully_paid_on = "AUTHORISED", None
        self._noted(invoice, payment)
        return payment

    # --- contacts ---------------------------------------------------------------------------

    def create_contacts(self, elements, *, summarize_errors: bool) -> list[ElementResult]:
        results, names_in_batch = [], set()
        for element in elements:
            errors = self._contact_errors(element, names_in_batch)
            results.append(ElementResult(element, errors))
        if summarize_errors and any(r.errors for r in results):
            return results
        for result in results:
            if not result.errors:
                result.record = self._apply_contact(result.submitted)
        return results

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

    # --- bank transactions (spend / receive money) -------------------------------------------

    def save_bank_transactions(
        self, elements, *, summarize_errors: bool, allow_update: bool, unitdp=2
    ) -> list[ElementResult]:
        results: list[ElementResult] = []
        plans: list[dict | None] = []
        for element in elements:
            plan, errors = self._plan_bank_transaction(
                element, allow_update=allow_update, unitdp=unitdp
            )
            results.append(ElementResult(element, errors))
            plans.append(plan)
        if summarize_errors and any(r.errors for r in results):
            return results
        for result, plan in zip(results, plans, strict=True):
            if not result.errors:
                result.record = self._apply_bank_transaction(plan)
        return results

    def _plan_bank_transaction(self, element, *, allow_update, unitdp=2):
        if not isinstance(element, dict):
            return None, ["A bank transaction must be a JSON object"]
        existing = None
        if element.get("BankTransactionID"):
            wanted = str(element["BankTransactionID"])
            existing = self.tenant.bank_transactions.get(wanted)
            if existing is None:
                return None, [f"Bank transaction with BankTransactionID '{wanted}' not found"]
            if not allow_update:
                return None, ["A bank transaction with this BankTransactionID exists; POST it"]
            if existing.status != "AUTHORISED":
                return None, [f"This Bank Transaction cannot be edited as it is {existing.status}"]
            if existing.is_reconciled:
                return None, [BANK_RECONCILED]
            if self._is_locked("AUTHORISED", existing.date):
                return None, [LOCKED]
        errors: list[str] = []
        type_ = element.get("Type", existing.type if existing else None)
        if type_ not in BANK_TRANSACTION_TYPES:
            errors.append(f"'{type_}' is not a valid bank transaction Type; use SPEND or RECEIVE")
        elif existing and type_ != existing.type:
            errors.append("The Type of an existing bank transaction cannot be changed")
        contact, new_contact_name = self._resolve_contact(
            element.get("Contact"), existing, errors, True
        )
        bank_account = self._bank_account(element.get("BankAccount"), existing, errors)
        when = self._date(element, "Date", existing.date if existing else today(self.now), errors)
        status = element.get("Status", existing.status if existing else "AUTHORISED")
        allowed = ("AUTHORISED", "DELETED") if existing else ("AUTHORISED",)
        if status not in allowed:
            errors.append(f"A bank transaction cannot be saved with a Status of {status}")
        currency_code = element.get(
            "CurrencyCode", existing.currency_code if existing else self.tenant.base_currency
        )
        if not isinstance(currency_code, str) or not CURRENCY_CODE.match(currency_code):
            errors.append(f"'{currency_code}' is not a valid currency code")
        currency_rate = self._currency_rate(element, existing, errors)
        line_amount_types = element.get(
            "LineAmountTypes", existing.line_amount_types if existing else "Exclusive"
        )
        if line_amount_types not in LINE_AMOUNT_TYPES:
            errors.append(f"'{line_amount_types}' is not a valid value for LineAmountTypes")
        url = element.get("Url", existing.url if existing else None)
        if url and not re.match(r"^https?://\S+$", str(url)):
            errors.append("The Url must be an absolute http or https URL")
        lines = self._lines(element, existing, unitdp, errors)
        if any(line.account_code is None for line in lines):
            errors.append("Account code must be specified on every line of a bank transaction")
        known_tax_types = {t[1] for t in TAX_RATES if t[3] == "ACTIVE"}
        for line in lines:
            if line.tax_type not in known_tax_types:
                errors.append(
                    f"The TaxType code '{line.tax_type}' does not exist or cannot be used for "
                    "this type of transaction."
                )
        if "Total" in element and lines and not errors:
            self._check_total(element["Total"], lines, errors)
        if when and self._is_locked("AUTHORISED", when):
            errors.append(LOCKED)
        if errors:
            return None, errors
        return {
            "existing": existing,
            "type": type_,
            "contact": contact,
            "new_contact_name": new_contact_name,
            "bank_account_id": bank_account.account_id,
            "date": when,
            "status": status,
            "currency_code": currency_code,
            "currency_rate": currency_rate,
            "line_amount_types": line_amount_types,
            "reference": str(
                element.get("Reference", existing.reference if existing else "") or ""
            ),
            "url": url or None,
            "lines": lines,
        }, []

    def _bank_account(self, raw, existing, errors):
        if raw is None and existing:
            return self.tenant.accounts[existing.bank_account_id]
        if not isinstance(raw, dict) or not (raw.get("AccountID") or raw.get("Code")):
            errors.append("A BankAccount must be specified (its AccountID or Code)")
            return None
        if raw.get("AccountID"):
            account = self.tenant.accounts.get(str(raw["AccountID"]))
        else:
            account = self.tenant.account_by_code(str(raw["Code"]))
        if account is None or account.type != "BANK" or account.status != "ACTIVE":
            errors.append(NOT_A_BANK_ACCOUNT)
            return None
        return account

    def _apply_bank_transaction(self, plan: dict) -> BankTransaction:
        contact = plan["contact"] or self._contact_named(plan["new_contact_name"])
        transaction = plan["existing"]
        if transaction is None:
            transaction = BankTransaction(
                bank_transaction_id=str(uuid.uuid4()),
                type=plan["type"],
                contact_id=contact.contact_id,
                bank_account_id=plan["bank_account_id"],
                date=plan["date"],
                status=plan["status"],
                line_amount_types=plan["line_amount_types"],
                currency_code=plan["currency_code"],
                line_items=plan["lines"],
                updated=self.now,
            )
            self.tenant.bank_transactions[transaction.bank_transaction_id] = transaction
        else:
            transaction.contact_id = contact.contact_id
            transaction.bank_account_id = plan["bank_account_id"]
            transaction.date, transaction.status = plan["date"], plan["status"]
            transaction.line_amount_types = plan["line_amount_types"]
            transaction.currency_code = plan["currency_code"]
            transaction.line_items = plan["lines"]
        transaction.reference, transaction.url = plan["reference"], plan["url"]
        transaction.currency_rate = plan["currency_rate"]
        transaction.updated = self.now
        self.tenant.writes.append(
            {
                "at": self.now,
                "kind": "bank_transaction",
                "BankTransactionID": transaction.bank_transaction_id,
                "Url": transaction.url,
                "Status": transaction.status,
                "Total": str(transaction.total),
            }
        )
        return transaction

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
        plan = _PaymentPlan(
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
