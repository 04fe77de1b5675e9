"""FilterSets of the sync log's models, one per model for the pages and the API alike (the API's
views name these classes; their filters are its query parameters):

- AttemptFilter: the event log's search and filters, and a document's attempts in the API;
- SyncRecordFilter: the API's sync-records list; the Accounting Sync History page's
  SyncHistoryFilter (below) is it with the page's tabs and defaults, and serves the page and the
  Excel export, so the page, the export and the API agree on which rows "the active tab and
  filter" are.

Each takes the organisation (`org=`): the connections offered are the organisation's own.
"""

import calendar
import datetime

import django_filters
from django import forms
from django.db.models import DateTimeField, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import Organization
from integrations.models import Connection
from synclog.models import (
    SYNC_DATE,
    AttemptOutcome,
    EntryType,
    RecordStatus,
    StatusCode,
    SyncAttempt,
)
from syncsvc.dates import day_end, day_start
from syncsvc.widgets import DateInput

# Record statuses by name in URLs (?status=failed reads better than ?status=2).
STATUS_BY_NAME = {
    "failed": RecordStatus.FAILED,
    "complete": RecordStatus.COMPLETE,
    "pending": RecordStatus.PENDING,
}
STATUS_CHOICES = [(name, status.label) for name, status in STATUS_BY_NAME.items()]


def sync_dated(lookup: str, moment: datetime.datetime) -> Q:
    """Records whose sync date (SYNC_DATE: when a Complete one was pushed, when a Failed one
    failed) is `lookup` `moment`.

    On the expression itself, the one syncrecord_history_idx is built on, so that a range bounds
    the index scan (a test of the columns read every record of the tab and status).
    """
    return Q(DateTimeField().get_lookup(lookup)(SYNC_DATE, moment))


class OrgConnectionsMixin:
    """Offers only the organisation's connections (another's id is "not a valid choice")."""

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["connection"].queryset = Connection.objects.for_org(org)


class AttemptFilter(OrgConnectionsMixin, django_filters.FilterSet):
    """Attempts by document number, connection, entry type, outcome, status code and day
    started (the user's day)."""

    q = django_filters.CharFilter(
        method="filter_number",
        label="Document number",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Document number, e.g. 1042",
                "autocomplete": "off",
                # Where a support agent starts: typing a number.
                "autofocus": True,
            }
        ),
    )
    connection = django_filters.ModelChoiceFilter(
        field_name="record__connection",
        queryset=Connection.objects.none(),
        empty_label="Any connection",
    )
    entry_type = django_filters.ChoiceFilter(
        field_name="record__entry_type", choices=EntryType.choices
    )
    outcome = django_filters.ChoiceFilter(choices=AttemptOutcome.choices, empty_label="Any outcome")
    status_code = django_filters.ChoiceFilter(
        choices=[(str(code.value), f"{code.value} {code.label}") for code in StatusCode],
        label="Code",
        empty_label="Any code",
    )
    date_from = django_filters.DateFilter(
        # __date compares in the active time zone: the user's day, not UTC's.
        field_name="started_at__date",
        lookup_expr="gte",
        label="From",
        widget=DateInput(),
    )
    date_to = django_filters.DateFilter(
        field_name="started_at__date",
        lookup_expr="lte",
        label="To",
        widget=DateInput(),
    )

    class Meta:
        model = SyncAttempt
        fields = ["q", "connection", "entry_type", "outcome", "status_code", "date_from", "date_to"]

    def filter_number(self, queryset, name, value):
        number = value.strip().lstrip("#")
        if not number:
            return queryset
        # A payment's record points at its bill, so the bill's number finds its payments too.
        return queryset.filter(record__document__number__icontains=number)

    @property
    def results(self) -> QuerySet[SyncAttempt]:
        """The matching attempts; an invalid filter (shown on the form) matches nothing."""
        return self.qs if self.is_valid() else self.queryset.none()


class SyncRecordFilter(OrgConnectionsMixin, django_filters.FilterSet):
    """Records by entry type, status, date range, connection and document.

    The date range applies to a record's sync date: when it was pushed (`synced_at`) for a
    Complete record, falling back to `updated_at` for one marked Complete without ever being
    pushed; when it failed (`updated_at`, which the engine sets with the error) for a Failed one.
    A Failed record is not dated by an older successful push, or a fresh failure of a bill synced
    long ago would hide outside the range. Pending records are waiting for their push, so a date
    range means nothing for them: with status Pending it is ignored, and with no status chosen
    Pending records are always listed.
    """

    entry_type = django_filters.ChoiceFilter(choices=EntryType.choices)
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_nothing", label="Sync status"
    )
    date_from = django_filters.DateFilter(method="filter_nothing", label="From", widget=DateInput())
    date_to = django_filters.DateFilter(method="filter_nothing", label="To", widget=DateInput())
    connection = django_filters.ModelChoiceFilter(
        queryset=Connection.objects.none(), empty_label="All connections", label="Connection"
    )
    document = django_filters.NumberFilter(field_name="document_id")

    def filter_nothing(self, queryset, name, value):
        # Status and dates depend on each other (Pending ignores dates): see filter_queryset.
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        status = STATUS_BY_NAME.get(data.get("status") or "")
        if status is not None:
            queryset = queryset.filter(status=status)
        if status == RecordStatus.PENDING:
            return queryset
        start, end = data.get("date_from"), data.get("date_to")
        if start:
            queryset = queryset.filter(self._dated(status, "gte", day_start(start)))
        if end and day_end(end) is not None:
            queryset = queryset.filter(self._dated(status, "lt", day_end(end)))
        return queryset

    @staticmethod
    def _dated(status, lookup: str, moment: datetime.datetime) -> Q:
        if status is None:
            # No status chosen: Pending records have no sync date yet and are always listed.
            return sync_dated(lookup, moment) | Q(status=RecordStatus.PENDING)
        return sync_dated(lookup, moment)


# --- the Accounting Sync History page ------------------------------------------------------------

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
