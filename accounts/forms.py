"""The accounts app's forms: a new API key's name."""

from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="The system that will use it, e.g. “Expense app (production)”.",
    )
