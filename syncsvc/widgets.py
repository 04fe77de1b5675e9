"""Form widgets shared by every app's forms and filters."""

from django import forms


class DateInput(forms.DateInput):
    """A browser date picker, filled in ISO whatever the site's localisation.

    `<input type=date>` accepts only YYYY-MM-DD in its value; the en-GB "28/11/2026" Django
    would render is shown as empty, so an edit lost both dates and failed "required". Django
    reads ISO dates back under any locale.
    """

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")
