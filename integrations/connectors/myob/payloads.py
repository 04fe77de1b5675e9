"""Where our entries go in MYOB and in which of its fields: the resource of each kind, its
party, number and memo fields, a payment's words, and MYOB's money and dates on the wire."""

import datetime
from decimal import Decimal

from integrations.connectors.types import EntryKind
from integrations.connectors.values import money

RESOURCE = {
    EntryKind.BILL: "Purchase/Bill/Service",
    EntryKind.INVOICE: "Sale/Invoice/Service",
    # A card or bank expense: money spent at once from that account, no bill and no payment.
    EntryKind.SPEND: "Banking/SpendMoneyTxn",
}
PARTY = {EntryKind.BILL: "Supplier", EntryKind.INVOICE: "Customer", EntryKind.SPEND: "Contact"}
# Where our document number goes: a bill's own Number is MYOB's purchase number (13
# characters, numbered by MYOB); the supplier's invoice number is ours.
NUMBER_FIELD = {
    EntryKind.BILL: "SupplierInvoiceNumber",
    EntryKind.INVOICE: "Number",
    EntryKind.SPEND: "PaymentNumber",
}
NUMBER_MAX = {EntryKind.BILL: 255, EntryKind.INVOICE: 13, EntryKind.SPEND: 13}
# Where our reference rides (the document URL with ?ref=).
MEMO_FIELD = {
    EntryKind.BILL: "JournalMemo",
    EntryKind.INVOICE: "JournalMemo",
    EntryKind.SPEND: "Memo",
}
PAYMENT_RESOURCE = {
    EntryKind.BILL: "Purchase/SupplierPayment",
    EntryKind.INVOICE: "Sale/CustomerPayment",
}
# A payment's own words: where the money comes from or goes to, its amount, and how a line
# names the bill or invoice it pays (NOTES.md: Purchase/SupplierPayment, Sale/CustomerPayment).
PAYMENT_FIELDS = {
    EntryKind.BILL: ("PayFrom", "AmountPaid", "Bill", "Purchase"),
    EntryKind.INVOICE: ("DepositTo", "AmountReceived", "Invoice", "Sale"),
}
DEFAULT_TAX_CODE = "N-T"  # "Not Reportable": a line without a tax rate


def wire_number(value: Decimal) -> float:
    return float(money(value))


def wire_date(day: datetime.date) -> str:
    return f"{day.isoformat()}T00:00:00"
