"""Form widgets shared by every app's forms and filters."""

from decimal import Decimal

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe


class DateInput(forms.DateInput):
    """A browser date picker, filled in ISO whatever the site's localisation.

    `<input type=date>` accepts only YYYY-MM-DD in its value; the en-GB "28/11/2026" Django
    would render is shown as empty, so an edit lost both dates and failed "required". Django
    reads ISO dates back under any locale.
    """

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class QuantityInput(forms.NumberInput):
    """A quantity as people write it, 1 or 2.5: the column keeps four decimal places, and an edit
    page showed every saved line's quantity as 1.0000."""

    def format_value(self, value):
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")  # "f": 10, not normalize()'s 1E+1
        return super().format_value(value)


class ManyOptionsSelect(forms.Select):
    """A `<select>` written in one pass, the same HTML as Django's own: its templates render two
    includes per option, a third of the Documents list's own CPU with the 600 contacts of its
    Contact filter (bench.pages at 1,000,000 documents)."""

    def render(self, name, value, attrs=None, renderer=None):
        # As ChoiceWidget.optgroups chooses: the first option whose value is the value (all of
        # them for a multiple select), read from the choices without building an option each.
        # (Iterated once, never list()ed: a model's choices would count their rows for that.)
        values = set(self.format_value(value))
        chosen_once = False
        options = []
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):
                return super().render(name, value, attrs, renderer)  # grouped: Django's templates
            option_value = "" if option_value is None else str(option_value)
            selected = option_value in values and (self.allow_multiple_selected or not chosen_once)
            chosen_once = chosen_once or selected
            # format_html's escaping, without its call per option.
            options.append(
                f'\n  <option value="{conditional_escape(option_value)}"'
                f"{' selected' if selected else ''}>{conditional_escape(label)}</option>\n"
            )
        select_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            select_attrs["multiple"] = True
        select = format_html('<select name="{}"{}>', name, _html_attrs(select_attrs))
        return mark_safe(select + "".join(options) + "\n</select>")


def _html_attrs(attrs: dict) -> str:
    """Attributes as django/forms/widgets/attrs.html writes them (True bare, False left out)."""
    return mark_safe(
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
            for name, value in attrs.items()
            if value is not False
        )
    )
