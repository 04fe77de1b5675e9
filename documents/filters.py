import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from documents.models import Contact, Document, DocumentKind, DocumentStatus
from synclog.models import RunItemOutcome, SyncRunItem
from synclog.selectors.document_state import (
    SYNC_STATE_LEGEND,
    DocumentSyncState,
    document_sync_states,
)
from syncsvc.widgets import DateInput, ManyOptionsSelect


class NamedChoiceIterator(ModelChoiceIterator):
    """The choices as (id, name) read in one values_list, for a model whose str() is its name: no
    instance built per option (the Documents list's 600 contacts took 7.5 ms that way)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        yield from self.queryset.values_list("pk", "name")


class NamedChoiceField(ModelChoiceField):
    iterator = NamedChoiceIterator


class NamedChoiceFilter(django_filters.ModelChoiceFilter):
    """A ModelChoiceFilter whose options are read as (id, name): the chosen one is still checked
    against the queryset (another organisation's id is "not a valid choice")."""

    field_class = NamedChoiceField


class DocumentFilter(django_filters.FilterSet):
    """One filter set for the documents list page and, later, the API."""

    q = django_filters.CharFilter(
        field_name="number",
        lookup_expr="icontains",
        label="Number",
        # Its own "change" would repeat what typing did (static/js/app.js).
        widget=forms.TextInput(
            attrs={"placeholder": "Search by number", "type": "search", "data-no-change-event": ""}
        ),
    )
    kind = django_filters.ChoiceFilter(choices=DocumentKind.choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=DocumentStatus.choices, empty_label="Any status")
    contact = NamedChoiceFilter(
        queryset=Contact.objects.none(), empty_label="Any contact", widget=ManyOptionsSelect
    )
    issued_from = django_filters.DateFilter(
        field_name="issue_date",
        lookup_expr="gte",
        label="Issued from",
        widget=DateInput(),
    )
    issued_to = django_filters.DateFilter(
        field_name="issue_date",
        lookup_expr="lte",
        label="Issued to",
        widget=DateInput(),
    )
    sync_state = django_filters.ChoiceFilter(
        choices=DocumentSyncState.choices,
        method="filter_sync_state",
        label="Sync status",
        empty_label="Any sync status",
        help_text=SYNC_STATE_LEGEND,
    )

    # Not on the filter form: the links of a bulk re-sync's summary ("the 3 that failed").
    sync_run = django_filters.UUIDFilter(method="filter_sync_run", label="Sync")
    sync_outcome = django_filters.ChoiceFilter(
        choices=RunItemOutcome.choices, method="filter_sync_outcome", label="Outcome"
    )

    class Meta:
        model = Document
        fields = [
            "q",
            "kind",
            "status",
            "contact",
            "issued_from",
            "issued_to",
            "sync_state",
            "sync_run",
            "sync_outcome",
        ]

    def filter_sync_run(self, queryset, name, value):
        # Documents with an item in that sync (with that outcome). The queryset is already the
        # organisation's, so another organisation's sync id matches nothing.
        items = SyncRunItem.objects.filter(run__public_id=value, record__document=OuterRef("pk"))
        outcome = self.form.cleaned_data.get("sync_outcome")
        if outcome:
            items = items.filter(outcome=outcome)
        return queryset.filter(Exists(items))

    def filter_sync_state(self, queryset, name, value):
        return queryset.filter(self.sync_states.condition(value))

    def filter_sync_outcome(self, queryset, name, value):
        return queryset  # applied with sync_run, in one subquery

    @property
    def results(self):
        """The filtered documents; an invalid filter (shown on the form) matches nothing."""
        return self.qs if self.is_valid() else self.queryset.none()

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this organisation's contacts can be chosen (another's id is "not a valid choice").
        self.filters["contact"].queryset = Contact.objects.for_org(org)
        # The filter on the sync status, from the same EXISTS tests as the list's column
        # (synclog.selectors.document_state; the column is read for a page's rows alone:
        # documents.selectors.document_rows_with_sync_state).
        self.sync_states = document_sync_states(org=org)
