"""Every date input of the project's forms and filters renders its date in ISO, the only value
a browser's <input type=date> shows, although the site is localised en-GB."""

import datetime

import pytest
from django.utils import translation

from documents.filters import DocumentFilter
from documents.forms import DocumentForm, PaymentForm
from synclog.filters import AttemptFilter, SyncHistoryFilter
from synclog.forms import RunFilterForm
from synclog.models import SyncRecord
from tests.factories import OrganizationFactory

DAY = datetime.date(2026, 11, 28)

pytestmark = pytest.mark.django_db


def date_fields(org):
    forms = [
        DocumentForm(org=org),
        PaymentForm(),
        RunFilterForm(),
        DocumentFilter(org=org).form,
        SyncHistoryFilter({}, queryset=SyncRecord.objects.none(), org=org).form,
        AttemptFilter(org=org).form,
    ]
    for form in forms:
        for name, field in form.fields.items():
            if getattr(field.widget, "input_type", None) == "date":
                yield f"{type(form).__name__}.{name}", field.widget


def test_every_date_input_renders_iso_under_en_gb():
    org = OrganizationFactory()
    with translation.override("en-gb"):
        fields = dict(date_fields(org))
        assert len(fields) == 11, sorted(fields)
        for name, widget in fields.items():
            html = widget.render("d", DAY)
            assert 'value="2026-11-28"' in html, (name, html)
