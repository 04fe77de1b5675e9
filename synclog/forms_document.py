"""The Re-sync dialog's form: which entry of the document to push again."""

from django import forms
from django.core.exceptions import ValidationError

from documents.models import Document
from synclog.selectors.attempts import document_has_payment_entry

BILL_ENTRY, PAYMENT_ENTRY = "bill", "payment"


class ResyncForm(forms.Form):
    entry = forms.ChoiceField(
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the entry to re-sync.",
            "invalid_choice": "This document has no such entry to re-sync.",
        },
    )

    def __init__(self, *args, document: Document, **kwargs):
        super().__init__(*args, **kwargs)
        # "Bill entry" for a bill, "Invoice entry" for an invoice: the service calls both "bill".
        choices = [(BILL_ENTRY, f"{document.get_kind_display()} entry")]
        # The payment entry exists only once the document is paid or marked paid (DESIGN §4.3).
        if document_has_payment_entry(document=document):
            choices.append((PAYMENT_ENTRY, "Payment entry"))
        self.fields["entry"].choices = choices
        self.fields["entry"].initial = BILL_ENTRY

    def add_service_error(self, error: ValidationError) -> None:
        for message in error.messages:
            self.add_error(None, message)
