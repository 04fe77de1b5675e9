"""The rules each entity's write must meet (`_check_<entity>`), and a transaction's lines applied to
the documents they pay."""

from decimal import Decimal

from . import wire
from .entities import CLASSIFICATION, PURCHASE_ACCOUNT_TYPES
from .faults import business, fault, missing


class EntityChecks:
    """Each entity's write rules (a part of `Books`, which calls `_check_<entity>` by name)."""

    def _unique_name(self, entities, key, draft, current, message) -> None:
        name = draft.get(key)
        if not name or not str(name).strip():
            raise missing(key)
        for entity in entities:
            for other in self.realm.entities[entity].values():
                if other.get(key, "").lower() == str(name).strip().lower() and (
                    current is None or other["Id"] != current["Id"]
                ):
                    raise fault(
                        6240,
                        "Duplicate Name Exists Error",
                        f"The name supplied already exists. : {message}",
                        key,
                    )

    def _check_vendor(self, draft, current, _):
        self._unique_name(
            ("Vendor", "Customer"),
            "DisplayName",
            draft,
            current,
            "Another customer, vendor or employee is already using this name. Please use a "
            "different name.",
        )
        draft.setdefault("Active", True)
        self._currency(draft)
        draft.setdefault("Balance", 0.0)

    def _check_customer(self, draft, current, _):
        self._check_vendor(draft, current, _)
        draft["FullyQualifiedName"] = draft["DisplayName"]

    def _check_account(self, draft, current, _):
        self._unique_name(
            ("Account",), "Name", draft, current, "Another account is already using this name."
        )
        account_type = draft.get("AccountType")
        if not account_type:
            raise missing("AccountType")
        if account_type not in CLASSIFICATION:
            raise fault(
                2170,
                "Invalid Enumeration",
                f"Invalid Enumeration : {account_type}",
                "AccountType",
            )
        draft["Classification"] = CLASSIFICATION[account_type]
        draft["FullyQualifiedName"] = draft["Name"]
        draft.setdefault("Active", True)
        draft.setdefault("SubAccount", False)
        draft.setdefault("CurrentBalance", 0.0)
        self._currency(draft)

    def _check_class(self, draft, current, _):
        self._unique_name(("Class",), "Name", draft, current, "Another class uses this name.")
        draft["FullyQualifiedName"] = draft["Name"]
        draft.setdefault("Active", True)
        draft.setdefault("SubClass", False)

    def _check_department(self, draft, current, _):
        self._unique_name(
            ("Department",), "Name", draft, current, "Another location uses this name."
        )
        draft["FullyQualifiedName"] = draft["Name"]
        draft.setdefault("Active", True)
        draft.setdefault("SubDepartment", False)

    def _check_attachable(self, draft, current, _):
        pass

    def _txn_header(self, draft, current, party_key, party, allow_duplicate, scope) -> None:
        self._ref(draft, party_key, party)
        self._date(draft, "TxnDate", default=self._today())
        self._check_date(wire.parse_date(draft["TxnDate"]))
        self._currency(draft)
        self._ref(draft, "DepartmentRef", "Department", required=False)
        self._doc_number(scope[0], draft, current, scope[1], allow_duplicate)

    def _check_bill(self, draft, current, allow_duplicate):
        self._txn_header(
            draft, current, "VendorRef", "Vendor", allow_duplicate, ("Bill", "VendorRef")
        )
        self._date(draft, "DueDate", default=draft["TxnDate"])
        self._ref(draft, "APAccountRef", "Account", required=False, types=("Accounts Payable",))
        self._expense_lines(draft)

    def _expense_lines(self, draft) -> None:
        """A bill's or a purchase's lines: each books an amount to an account (or an item)."""
        for line in self._lines(draft):
            self._money(line, "Amount", "Line.Amount")
            kind = line.get("DetailType")
            detail = line.get(kind) if isinstance(kind, str) else None
            if kind not in ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"):
                raise fault(
                    2170, "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType"
                )
            if not isinstance(detail, dict):
                raise missing(f"Line.{kind}")
            if kind == "AccountBasedExpenseLineDetail":
                self._ref(detail, "AccountRef", "Account")
            else:
                self._ref(detail, "ItemRef", "Item")
            self._ref(detail, "ClassRef", "Class", required=False)
        self._number_lines(draft["Line"])
        draft["TotalAmt"] = wire.number(self._lines_total(draft["Line"]))

    def _check_purchase(self, draft, current, _):
        """An expense (Cash), a check (Check) or a card charge (CreditCard): its AccountRef is
        the bank or card account the money left. Document numbers of purchases are not held
        unique (a check number, a card's reference)."""
        payment_type = draft.get("PaymentType")
        if payment_type is None:
            raise missing("PaymentType")
        if payment_type not in PURCHASE_ACCOUNT_TYPES:
            raise fault(
                2170,
                "Invalid Enumeration",
                f"Invalid Enumeration : {payment_type}",
                "PaymentType",
            )
        self._ref(draft, "AccountRef", "Account", types=PURCHASE_ACCOUNT_TYPES[payment_type])
        payee = draft.get("EntityRef")
        if payee is not None:
            party = (payee.get("type") if isinstance(payee, dict) else None) or "Vendor"
            if party not in ("Vendor", "Customer"):
                raise fault(
                    2170, "Invalid Enumeration", f"Invalid Enumeration : {party}", "EntityRef.type"
                )
            self._ref(draft, "EntityRef", party)
            draft["EntityRef"]["type"] = party
        if draft.get("Credit") and payment_type != "CreditCard":
            raise business("Only a credit card purchase can be a credit (a refund)")
        self._date(draft, "TxnDate", default=self._today())
        self._check_date(wire.parse_date(draft["TxnDate"]))
        self._currency(draft)
        self._ref(draft, "DepartmentRef", "Department", required=False)
        self._doc_number("Purchase", draft, current, None, True)  # the length rule only
        self._expense_lines(draft)

    def _check_invoice(self, draft, current, allow_duplicate):
        self._txn_header(
            draft, current, "CustomerRef", "Customer", allow_duplicate, ("Invoice", None)
        )
        self._date(draft, "DueDate", default=draft["TxnDate"])
        for line in self._lines(draft):
            self._money(line, "Amount", "Line.Amount")
            kind = line.get("DetailType")
            if kind == "SalesItemLineDetail":
                detail = line.get(kind)
                if not isinstance(detail, dict):
                    raise missing("Line.SalesItemLineDetail")
                self._ref(detail, "ItemRef", "Item")
                self._ref(detail, "ClassRef", "Class", required=False)
            elif kind != "DescriptionOnly":
                raise fault(
                    2170, "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType"
                )
        self._number_lines(draft["Line"])
        draft["TotalAmt"] = wire.number(self._lines_total(draft["Line"]))

    def _check_billpayment(self, draft, current, _):
        self._ref(draft, "VendorRef", "Vendor")
        self._date(draft, "TxnDate", default=self._today())
        self._check_date(wire.parse_date(draft["TxnDate"]))
        self._currency(draft)
        pay_type = draft.get("PayType")
        if pay_type == "Check":
            payment = draft.get("CheckPayment")
            if not isinstance(payment, dict):
                raise missing("CheckPayment")
            self._ref(payment, "BankAccountRef", "Account", types=("Bank",))
        elif pay_type == "CreditCard":
            payment = draft.get("CreditCardPayment")
            if not isinstance(payment, dict):
                raise missing("CreditCardPayment")
            self._ref(payment, "CCAccountRef", "Account", types=("Credit Card",))
        elif pay_type is None:
            raise missing("PayType")
        else:
            raise fault(2170, "Invalid Enumeration", f"Invalid Enumeration : {pay_type}", "PayType")
        total = self._money(draft, "TotalAmt", "TotalAmt")
        self._apply_lines(draft, current, total, "Bill", "VendorRef")

    def _check_payment(self, draft, current, _):
        self._ref(draft, "CustomerRef", "Customer")
        self._date(draft, "TxnDate", default=self._today())
        self._check_date(wire.parse_date(draft["TxnDate"]))
        self._currency(draft)
        self._ref(
            draft,
            "DepositToAccountRef",
            "Account",
            required=False,
            types=("Bank", "Other Current Asset"),
        )
        total = self._money(draft, "TotalAmt", "TotalAmt")
        self._apply_lines(draft, current, total, "Invoice", "CustomerRef")

    def _apply_lines(self, draft, current, total, target, party_key) -> None:
        if total < 0:
            raise business("The payment amount cannot be negative")
        applied = Decimal(0)
        for line in draft.get("Line") or []:
            amount = self._money(line, "Amount", "Line.Amount")
            links = line.get("LinkedTxn")
            if not links or not isinstance(links, list):
                raise missing("Line.LinkedTxn")
            for link in links:
                if link.get("TxnType") != target:
                    raise business(f"A payment line must link a {target}")
                document = self.realm.entities[target].get(str(link.get("TxnId")))
                if document is None:
                    raise fault(
                        2500,
                        "Invalid Reference Id",
                        f"Invalid Reference Id : {target} {link.get('TxnId')} does not exist",
                        "Line.LinkedTxn",
                    )
                if document[party_key]["value"] != draft[party_key]["value"]:
                    raise fault(
                        620,
                        "Transaction link mismatch",
                        f"The {target} {document['Id']} belongs to another "
                        f"{party_key[:-3].lower()}",
                    )
                balance = wire.amount(self.present(target, document)["Balance"])
                if current is not None:  # this payment's own share is not owed twice
                    for old in current.get("Line", []):
                        if any(x.get("TxnId") == document["Id"] for x in old.get("LinkedTxn", [])):
                            balance += wire.amount(old["Amount"])
                if amount > balance:
                    raise business(
                        f"The payment of {amount} is more than the {balance} owed on "
                        f"{target} {document['Id']}"
                    )
            applied += amount
        if applied > total:
            raise business("The lines applied exceed the payment's TotalAmt")
