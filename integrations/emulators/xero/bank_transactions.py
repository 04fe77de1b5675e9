"""Bank transactions (spend and receive money): paid at once from a bank account, no invoice
and no payment."""

import re
import uuid

from .models import BANK_TRANSACTION_TYPES, BankTransaction
from .rules import (
    BANK_RECONCILED,
    LOCKED,
    NOT_A_BANK_ACCOUNT,
    ElementResult,
    two_passes,
)
from .seed import TAX_RATES
from .wire import today


class BankTransactionRules:
    """The ledger's rules for bank transactions (a part of `Ledger`)."""

    def save_bank_transactions(
        self, elements, *, summarize_errors: bool, allow_update: bool, unitdp=2
    ) -> list[ElementResult]:
        return two_passes(
            elements,
            lambda element: self._plan_bank_transaction(
                element, allow_update=allow_update, unitdp=unitdp
            ),
            self._apply_bank_transaction,
            summarize_errors=summarize_errors,
        )

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
        currency_code, currency_rate, line_amount_types = self._money_terms(
            element, existing, errors
        )
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
