"""Payments against authorised invoices: planned, then applied (the invoice's amounts and
status follow)."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .models import ZERO, Invoice, Payment
from .rules import CENT, NOT_AUTHORISED, OVERPAYMENT, ElementResult, LedgerError, two_passes
from .wire import to_decimal, today


@dataclass
class PaymentPlan:
    invoice: Invoice
    account_id: str
    date: date
    amount: Decimal
    reference: str
    currency_rate: Decimal


class PaymentRules:
    """The ledger's rules for payments (a part of `Ledger`)."""

    def create_payments(self, elements, *, summarize_errors: bool) -> list[ElementResult]:
        outstanding: dict[str, Decimal] = {}  # amount still due as this batch is checked
        return two_passes(
            elements,
            lambda element: self._plan_payment(element, outstanding),
            self._apply_payment,
            summarize_errors=summarize_errors,
        )

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
        if self.tenant.locked_through and paid_on and paid_on <= self.tenant.locked_through:
            errors.append("The payment date cannot be before the period lock date")
        if errors:
            return None, errors
        outstanding[invoice.invoice_id] = due - amount
        reference = str(element.get("Reference") or "")
        return PaymentPlan(invoice, account.account_id, paid_on, amount, reference, rate), []

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

    def _apply_payment(self, plan: PaymentPlan) -> Payment:
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
        if self.tenant.locked_through and payment.date <= self.tenant.locked_through:
            raise LedgerError("The payment date cannot be before the period lock date")
        invoice = self.tenant.invoices[payment.invoice_id]
        payment.status, payment.updated = "DELETED", self.now
        invoice.amount_paid -= payment.amount
        invoice.updated = self.now
        if invoice.status == "PAID":
            invoice.status, invoice.fully_paid_on = "AUTHORISED", None
        self._noted(invoice, payment)
        return payment
