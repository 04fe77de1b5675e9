"""The sync pages' forms: the Re-sync dialog, the bulk re-sync selection, Sync History's Update
Sync Status, and Sync Health's filters."""

from django import forms
from django.core.exceptions import ValidationError

from documents.models import Document
from synclog.models import RecordStatus, RunItemOutcome, StatusCode
from synclog.selectors import health as health_selectors
from synclog.selectors.attempts import document_has_payment_entry
from syncsvc.widgets import DateInput

# --- a document's Re-sync dialog: which entry of the document to push again -------------------

BILL_ENTRY, PAYMENT_ENTRY = "bill", "payment"


class ResyncForm(forms.Form):
    entry = forms.ChoiceField(
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the entry to re-sync.",
            "invalid_choice": "This document has no such entry to re-sync.",
        },
    )

    def __init__(self, *args, document: Document, entry: str | None = None, **kwargs):
        """`entry`: the choice to start from, where the document has it (a payment's "Push ours
        again…" opens the dialog on the payment entry)."""
        super().__init__(*args, **kwargs)
        # "Bill entry" for a bill, "Invoice entry" for an invoice: the service calls both "bill".
        choices = [(BILL_ENTRY, f"{document.get_kind_display()} entry")]
        # The payment entry exists only once the document is paid or marked paid (DESIGN §4.3).
        if document_has_payment_entry(document=document):
            choices.append((PAYMENT_ENTRY, "Payment entry"))
        self.fields["entry"].choices = choices
        self.fields["entry"].initial = entry if entry in dict(choices) else BILL_ENTRY

    def add_service_error(self, error: ValidationError) -> None:
        for message in error.messages:
            self.add_error(None, message)


# --- bulk re-sync: the documents chosen on the list --------------------------------------------

# Far above a page (ticked rows); more is "every document matching the filter".
MAX_PICKED_IDS = 500


class DocumentIdsField(forms.Field):
    """The ids of the ticked rows (repeated `document_ids` values)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        try:
            ids = [int(item) for item in value]
        except (TypeError, ValueError):
            message = "The selection is not valid; select the documents again."
            raise ValidationError(message) from None
        if len(ids) > MAX_PICKED_IDS:
            raise ValidationError(
                f"Select at most {MAX_PICKED_IDS} documents by hand, or select all documents "
                "matching the filter."
            )
        return list(dict.fromkeys(pk for pk in ids if pk > 0))


class BulkSelectionForm(forms.Form):
    """The ids ticked on the list, every document matching the list's filter, a
    Requires-attention group's documents ("Push ours again…": its connection, code and digest,
    re-read at each step, pushed to that connection alone), or the documents not in a
    connection's ledger yet (the connection page's "Preview them": re-read at each step, pushed
    to that connection alone)."""

    document_ids = DocumentIdsField(required=False)
    select_all_matching = forms.BooleanField(required=False)
    filter_query = forms.CharField(required=False, max_length=2000, strip=False)
    group_connection = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    group_code = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    group_digest = forms.SlugField(required=False, max_length=32, widget=forms.HiddenInput)
    unpushed_connection = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        group = (data.get("group_connection"), data.get("group_code"), data.get("group_digest"))
        if data.get("unpushed_connection") is not None:
            if any(value not in (None, "") for value in group):
                raise ValidationError("The selection is not valid; select the documents again.")
            return data
        if any(value not in (None, "") for value in group):
            if any(value in (None, "") for value in group):
                raise ValidationError("The group is not valid: open Requires attention again.")
            return data
        if not data.get("select_all_matching") and not data.get("document_ids"):
            raise ValidationError("Select at least one document.")
        return data

    @property
    def group(self) -> tuple[int, int, str] | None:
        """(connection id, code, digest) of a Requires-attention group's selection."""
        data = getattr(self, "cleaned_data", {})
        if data.get("group_connection") is None:
            return None
        return data["group_connection"], data["group_code"], data["group_digest"]

    @property
    def unpushed_connection_id(self) -> int | None:
        """The connection whose not-yet-pushed documents are the selection."""
        return getattr(self, "cleaned_data", {}).get("unpushed_connection")


# --- Accounting Sync History: Update Sync Status


class RecordIdsField(forms.Field):
    """Checked record ids. Any id is accepted here: the selector keeps the organisation's own."""

    widget = forms.MultipleHiddenInput
    MAX_DIGITS = 15  # far beyond any id, and below the database's integer range

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        if not all(str(item).isdigit() and len(str(item)) <= self.MAX_DIGITS for item in values):
            raise forms.ValidationError("The selection is not valid: reload the page and retry.")
        return sorted({int(item) for item in values})


class SyncStatusUpdateForm(forms.Form):
    """Update Sync Status: the selected records (or every record of the filter) to a status."""

    TO_STATUS = {"complete": RecordStatus.COMPLETE, "pending": RecordStatus.PENDING}

    scope = forms.ChoiceField(
        choices=[("selected", "The selected records"), ("matching", "Every matching record")],
        initial="selected",
    )
    record_ids = RecordIdsField(required=False)
    to_status = forms.ChoiceField(
        choices=[
            ("complete", "Complete — I reconciled it in the ledger by hand"),
            ("pending", "Pending — push it again"),
        ],
        widget=forms.RadioSelect,
        label="New status",
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        label="Note (optional)",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. Entered by hand in the ledger"}
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "selected" and not cleaned.get("record_ids"):
            raise forms.ValidationError("Select at least one record.")
        return cleaned

    @property
    def to_record_status(self) -> int:
        return self.TO_STATUS[self.cleaned_data["to_status"]]


# --- Sync Health's filters ---------------------------------------------------------------------


class RunFilterForm(forms.Form):
    q = forms.CharField(
        label="Sync id or organisation",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "e.g. 3f2a9c or Demo Company"}
        ),
    )
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())
    status_code = forms.TypedChoiceField(
        label="Status code",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "All codes"), *[(c.value, f"{c.value} {c.label}") for c in StatusCode]],
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end of the period is before its start.")
        return data

    def filters(self) -> health_selectors.RunFilters:
        """What was valid of the input; an invalid field counts as not given (shown as an
        error beside it)."""
        data = self.cleaned_data if self.is_bound else {}
        return health_selectors.RunFilters(
            query=data.get("q") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            status_code=data.get("status_code"),
        )


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        label="Document number, record id or entry type",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. INV-1042 or bill"}),
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "All outcomes"), *RunItemOutcome.choices],
    )
