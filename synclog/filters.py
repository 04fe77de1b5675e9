"""FilterSets of the sync log's models, one per model for the pages and the API alike (the API's
views name these classes; their filters are its query parameters):

- AttemptFilter: the event log's search and filters, and a document's attempts in the API;
- SyncRecordFilter: the API's sync-records list; the Accounting Sync History page's
  SyncHistoryFilter (synclog.filters_history) is it with the page's tabs and defaults.

Each takes the organisation (`org=`): the connections offered are the organisation's own.
"""

import datetime

import django_filters
from django import forms
from django.db.models import DateTimeField, Q, QuerySet

from accounts.models import Organization
from integrations.models import Connection
from synclog.models import SYNC_DATE, EntryType, Outcome, RecordStatus, StatusCode, SyncAttempt
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
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any outcome")
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
