import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from documents.models import DocumentKind, ExpenseType
from documents.selectors import category_list, contact_list, department_list
from documents.services import CREATE_ONLY_FIELDS
from syncsvc.widgets import DateInput, QuantityInput


class DocumentForm(forms.Form):
    """The header of a bill, invoice or expense. Business rules are checked by the service."""

    kind = forms.ChoiceField(choices=DocumentKind.choices, initial=DocumentKind.BILL)
    number = forms.CharField(max_length=64)
    contact = forms.ModelChoiceField(queryset=None)
    issue_date = forms.DateField(widget=DateInput())
    due_date = forms.DateField(widget=DateInput())
    currency = forms.CharField(max_length=3, min_length=3)
    total = forms.DecimalField(max_digits=14, decimal_places=2)
    category = forms.ModelChoiceField(queryset=None, required=False)
    department = forms.ModelChoiceField(queryset=None, required=False)
    description = forms.CharField(max_length=500, required=False)
    expense_type = forms.ChoiceField(
        choices=[("", "—"), *ExpenseType.choices],
        required=False,
        label="Expense type",
        help_text="Expenses: card or bank spend (booked as spend money), or reimbursable.",
    )
    exchange_rate = forms.DecimalField(
        max_digits=18,
        decimal_places=6,
        required=False,
        label="Exchange rate",
        help_text="Units of the currency per unit of the ledger's base currency; empty: the "
        "ledger's rate of the day.",
    )

    def __init__(self, *args, org, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contact_list(org=org)
        self.fields["category"].queryset = category_list(org=org)
        self.fields["department"].queryset = department_list(org=org)
        if editing:
            # The kind is fixed once a document exists, and so is what the ledger holds for
            # an expense (spend money or a bill) and the rate of the day it was spent.
            for name in ("kind", *CREATE_ONLY_FIELDS):
                del self.fields[name]


class LineForm(forms.Form):
    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(
        max_digits=12, decimal_places=4, initial=1, widget=QuantityInput()
    )
    unit_amount = forms.DecimalField(max_digits=14, decimal_places=2)
    category = forms.ModelChoiceField(queryset=None, required=False)
    department = forms.ModelChoiceField(queryset=None, required=False)
    tax_type = forms.CharField(max_length=50, required=False, label="Tax rate")

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = category_list(org=org)
        self.fields["department"].queryset = department_list(org=org)


class BaseLineFormSet(forms.BaseFormSet):
    def cleaned_lines(self) -> list[dict]:
        """The filled-in, not deleted lines; `line_forms[i]` is the form of the service's line i."""
        self.line_forms = [
            form
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE")
        ]
        return [
            {key: value for key, value in form.cleaned_data.items() if key != "DELETE"}
            for form in self.line_forms
        ]


LineFormSet = forms.formset_factory(
    LineForm, formset=BaseLineFormSet, extra=3, can_delete=True, max_num=100
)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2)
    paid_at = forms.DateField(
        label="Paid on",
        initial=datetime.date.today,
        widget=DateInput(),
    )
    reference = forms.CharField(max_length=100, required=False)
    bank_account = forms.CharField(max_length=100, required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField()


def add_service_errors(error: ValidationError, form: forms.Form, formset=None) -> list[str]:
    """Put a service's ValidationError on the form fields it names.

    Keys like ``lines.2.unit_amount`` go to that line's form; errors about the lines as a whole are
    returned for the page to show above them.
    """
    line_errors: list[str] = []
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return line_errors
    for key, messages in error.message_dict.items():
        parts = key.split(".")
        if parts[0] == "lines" and formset is not None:
            line_forms = getattr(formset, "line_forms", [])
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(line_forms):
                line_form = line_forms[int(parts[1])]
                for message in messages:
                    line_form.add_error(parts[2] if parts[2] in line_form.fields else None, message)
            else:
                line_errors.extend(messages)
            continue
        field = key if key in form.fields else None
        for message in messages:
            form.add_error(field if key != NON_FIELD_ERRORS else None, message)
    return line_errors
