import django_filters
from django import forms

from documents.models import Contact, Document, DocumentKind, DocumentStatus


class DocumentFilter(django_filters.FilterSet):
    """One filter set for the documents list page and, later, the API."""

    q = django_filters.CharFilter(
        field_name="number",
        lookup_expr="icontains",
        label="Number",
        widget=forms.TextInput(attrs={"placeholder": "Search by number", "type": "search"}),
    )
    kind = django_filters.ChoiceFilter(choices=DocumentKind.choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=DocumentStatus.choices, empty_label="Any status")
    contact = django_filters.ModelChoiceFilter(
        queryset=Contact.objects.none(), empty_label="Any contact"
    )
    issued_from = django_filters.DateFilter(
        field_name="issue_date",
        lookup_expr="gte",
        label="Issued from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = django_filters.DateFilter(
        field_name="issue_date",
        lookup_expr="lte",
        label="Issued to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Document
        fields = ["q", "kind", "status", "contact", "issued_from", "issued_to"]

    @property
    def results(self):
        """The filtered documents; an invalid filter (shown on the form) matches nothing."""
        return self.qs if self.is_valid() else self.queryset.none()

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this organisation's contacts can be chosen (another's id is "not a valid choice").
        self.filters["contact"].queryset = Contact.objects.for_org(org)
