from django import forms
from django.core.exceptions import ValidationError

from webhooks.models import WebhookEventType


class EndpointForm(forms.Form):
    """URL, events and a note. The URL's safety is the service's to check (it resolves the host)."""

    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/ledgersync"}),
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        help_text="What receives these (e.g. “ERP production”), for you and your colleagues.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to receive."},
    )


def add_service_errors(error: ValidationError, form: forms.Form) -> None:
    """Put a service's ValidationError on the fields it names (the rest above the form)."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)
