"""ManyOptionsSelect writes the same HTML as Django's Select, whose templates it skips."""

import pytest
from django import forms

from documents.filters import DocumentFilter
from documents.models import Document
from syncsvc.widgets import ManyOptionsSelect
from tests.factories import ContactFactory

CHOICES = [("", "Any contact"), (1, 'Smith & "Sons" <Ltd>'), (2, "Ünïcode"), ("x'y", "Quoted")]


@pytest.mark.parametrize("value", [None, "", "1", 2, "x'y", "missing"])
@pytest.mark.parametrize(
    "attrs",
    [None, {"id": "id_contact"}, {"id": "c", "required": True, "disabled": False, "data-n": 3}],
)
def test_the_html_is_djangos_own(value, attrs):
    ours = ManyOptionsSelect(choices=CHOICES).render("contact", value, attrs=attrs)
    djangos = forms.Select(choices=CHOICES).render("contact", value, attrs=attrs)
    assert ours == djangos


def test_grouped_choices_are_left_to_djangos_templates():
    grouped = [("Vendors", [(1, "A"), (2, "B")]), ("Customers", [(3, "C")])]
    ours = ManyOptionsSelect(choices=grouped).render("contact", "3")
    assert ours == forms.Select(choices=grouped).render("contact", "3")
    assert "<optgroup" in ours


def test_the_documents_filter_renders_its_contacts_as_before(org, other_org):
    chosen = ContactFactory(org=org, name="Acme & Co")
    ContactFactory(org=org, name="Beta")
    ContactFactory(org=other_org, name="Theirs")
    filterset = DocumentFilter(
        {"contact": str(chosen.pk)}, queryset=Document.objects.for_org(org), org=org
    )
    field = filterset.form["contact"]
    assert isinstance(field.field.widget, ManyOptionsSelect)
    ours = str(field)
    field.field.widget = forms.Select(choices=field.field.choices)
    assert ours == str(field)
    assert f'<option value="{chosen.pk}" selected>Acme &amp; Co</option>' in ours
    assert "Theirs" not in ours
