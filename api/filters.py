"""django-filter FilterSets of the API lists. Each takes the request's organisation (choices of
contacts and connections are the organisation's own); an invalid value is a 400.

Where a page lists the same model, the API uses the page's FilterSet: documents
documents.filters.DocumentFilter, attempts and sync records synclog.filters.
"""

import re

import django_filters
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Replace
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from documents.models import Contact, ContactKind
from integrations.models import Connection
from synclog.models import (
    EntryType,
    RunItemOutcome,
    StatusCode,
    display_status_q,
)
from syncsvc.dates import day_end, day_start
from webhooks.models import DeliveryStatus, WebhookEventType


class OrgFilterSet(django_filters.FilterSet):
    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org


class NameFilterSet(OrgFilterSet):
    q = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label="Name contains (case-insensitive)."
    )


class ContactFilter(NameFilterSet):
    kind = django_filters.ChoiceFilter(choices=ContactKind.choices)

    class Meta:
        model = Contact
        fields = ["q", "kind"]


class CategoryFilter(OrgFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name or account code contains.")

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class DepartmentFilter(NameFilterSet):
    pass


class PaymentFilter(OrgFilterSet):
    document = django_filters.NumberFilter(field_name="document_id", label="Document id.")
    paid_from = django_filters.DateFilter(field_name="paid_at", lookup_expr="gte")
    paid_to = django_filters.DateFilter(field_name="paid_at", lookup_expr="lte")


STATUS_CODE_CHOICES = [(code.value, f"{code.value} {code.label}") for code in StatusCode]


class SyncFilter(OrgFilterSet):
    """Syncs by status code (1010: still in progress after ten minutes), start date, connection
    and id (whole, or its first characters)."""

    status_code = extend_schema_field(
        {"type": "integer", "enum": [code.value for code in StatusCode]}
    )(
        django_filters.TypedChoiceFilter(
            choices=STATUS_CODE_CHOICES, coerce=int, method="filter_status_code"
        )
    )
    started_from = django_filters.DateFilter(method="filter_started_from")
    started_to = django_filters.DateFilter(method="filter_started_to")
    connection = django_filters.ModelChoiceFilter(queryset=Connection.objects.none())
    id = django_filters.CharFilter(
        method="filter_id", label="The sync id, or its first characters (hyphens optional)."
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, org=org, **kwargs)
        self.filters["connection"].queryset = Connection.objects.for_org(org)

    def filter_status_code(self, queryset, name, value):
        return queryset.filter(display_status_q(value, timezone.now()))

    def filter_started_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=day_start(value))

    def filter_started_to(self, queryset, name, value):
        end = day_end(value)
        return queryset if end is None else queryset.filter(started_at__lt=end)

    def filter_id(self, queryset, name, value):
        compact = value.strip().replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]{1,32}", compact):
            return queryset.none()
        # Hyphens dropped on both sides: an id is pasted with or without them.
        return queryset.annotate(
            public_id_compact=Replace(
                Cast("public_id", output_field=CharField()), Value("-"), Value("")
            )
        ).filter(public_id_compact__startswith=compact)


class TransactionFilter(OrgFilterSet):
    status = django_filters.ChoiceFilter(
        field_name="outcome", choices=RunItemOutcome.choices, label="The item's outcome."
    )
    entry_type = django_filters.ChoiceFilter(
        field_name="record__entry_type", choices=EntryType.choices
    )
    document = django_filters.NumberFilter(field_name="record__document_id")


class DatasetFilter(OrgFilterSet):
    created_from = django_filters.DateFilter(method="filter_created_from")
    created_to = django_filters.DateFilter(method="filter_created_to")

    def filter_created_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))

    def filter_created_to(self, queryset, name, value):
        end = day_end(value)
        return queryset if end is None else queryset.filter(created_at__lt=end)


class DeliveryFilter(OrgFilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(
        field_name="message__event_type", choices=WebhookEventType.choices
    )
