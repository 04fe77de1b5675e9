"""Filters of the Accounting Sync History page, and the Update Sync Status form.

SyncHistoryFilter is synclog.filters.SyncRecordFilter, the API's sync-records filter, with the
page's tabs and defaults; it serves the page and the Excel export, so the page, the export and
the API always agree on which rows "the active tab and filter" are.
"""

import calendar
import datetime

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import Organization
from synclog.filters import SyncRecordFilter
from synclog.models import EntryType, RecordStatus
from syncsvc.widgets import DateInput

# The page's tabs, in the order the page shows them.
HISTORY_TABS = [
    (EntryType.INVOICE.value, "Invoices"),
    (EntryType.INVOICE_PAYMENT.value, "Invoice Payments"),
    (EntryType.BILL.value, "Bills"),
    (EntryType.BILL_PAYMENT.value, "Bill Payments"),
]
# Bills are what an accounts-payable team works on first, so the page opens on them.
DEFAULT_TAB = EntryType.BILL.value

DEFAULT_STATUS = "failed"
PENDING = "pending"

# The fields that make up "the active tab and filter" (carried by the update and export forms).
FILTER_FIELDS = ("tab", "status", "date_from", "date_to", "connection")


def one_month_before(day: datetime.date) -> datetime.date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def default_date_range() -> tuple[datetime.date, datetime.date]:
    """The last month, up to today, in the user's time zone."""
    today = timezone.localdate()
    return one_month_before(today), today


def with_defaults(data) -> dict:
    """The query with the page's defaults filled in: Bills, Failed, the last month.

    A missing or blank tab or status takes its default. A missing date takes its default, but a
    date sent blank stays blank: the user cleared it to leave that end of the range open.
    """
    filled = {key: data.get(key) for key in FILTER_FIELDS if data.get(key) is not None}
    if not filled.get("tab"):
        filled["tab"] = DEFAULT_TAB
    if not filled.get("status"):
        filled["status"] = DEFAULT_STATUS
    date_from, date_to = default_date_range()
    filled.setdefault("date_from", date_from.isoformat())
    filled.setdefault("date_to", date_to.isoformat())
    return filled


class SyncHistoryFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        # Pending ignores the dates, so a reversed range cannot be an error then.
        if cleaned.get("status") != PENDING and start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


class SyncHistoryFilter(SyncRecordFilter):
    """The page's filter: a tab (entry type) and a status are always chosen (Bills and Failed
    unless asked otherwise), the dates default to the last month, and the end date may not come
    before the start (unless Pending, which ignores them). SyncRecordFilter says which date is a
    record's."""

    entry_type = None  # the tabs choose it
    document = None
    tab = django_filters.ChoiceFilter(
        field_name="entry_type", choices=HISTORY_TABS, required=True, widget=forms.HiddenInput
    )

    class Meta:
        form = SyncHistoryFilterForm
        fields = list(FILTER_FIELDS)

    def __init__(self, data=None, *args, org: Organization, **kwargs):
        super().__init__(with_defaults(data or {}), *args, org=org, **kwargs)
        self.filters["status"].extra.update(required=True, empty_label=None)
        if self.data.get("status") == PENDING:
            # Rendered disabled (so not sent either); the script keeps this in step on change.
            for name in ("date_from", "date_to"):
                self.filters[name].extra["widget"] = DateInput(attrs={"disabled": True})

    @property
    def results(self) -> QuerySet:
        """The matching records; an invalid filter (shown on the form) matches nothing."""
        return self.qs if self.is_valid() else self.queryset.none()

    @property
    def active_tab(self) -> str:
        tab = self.form.data.get("tab")
        return tab if tab in dict(HISTORY_TABS) else DEFAULT_TAB

    @property
    def pending_selected(self) -> bool:
        return self.form.data.get("status") == PENDING

    @cached_property
    def connection_count(self) -> int:
        return self.filters["connection"].queryset.count()

    def query_params(self) -> dict:
        """The filter as sent, to rebuild links (tabs, pages, export) and redirects.

        A cleared date stays in as blank, so the next link keeps that end of the range open.
        """
        return {
            key: value
            for key in FILTER_FIELDS
            if (value := self.form.data.get(key)) is not None
            and not (self.pending_selected and key in ("date_from", "date_to"))
        }


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
