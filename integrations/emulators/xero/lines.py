"""What invoices and bank transactions share: their currency and amount terms, and their line
items (amounts, accounts, tax and tracking)."""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from .models import ZERO, LineItem, LineTracking
from .rules import CENT, CURRENCY_CODE, LINE_AMOUNT_TYPES, MAX_TRACKING_PER_LINE, TOTAL_MISMATCH
from .wire import to_decimal


class LineRules:
    """The ledger's rules for line items (a part of `Ledger`)."""

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

    def _money_terms(self, element, existing, errors) -> tuple[str, Decimal, str]:
        """A document's CurrencyCode, CurrencyRate and LineAmountTypes (an invoice's or a bank
        transaction's), from the element or, on an update, the document as it is."""
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
        return currency_code, currency_rate, line_amount_types

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
