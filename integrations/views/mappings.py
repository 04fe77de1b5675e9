"""The mappings page: each category, department and vendor onto what the ledger holds, with what
is not in a new ledger yet."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from documents.selectors import category_list, department_list, vendor_list
from integrations import selectors, services
from integrations.connectors.errors import ConnectorError
from integrations.forms import (
    SPEND_KINDS,
    MappingForm,
)
from integrations.models import ConnectionStatus
from integrations.views.base import (
    IntegrationsView,
    ledger_error_text,
    unpushed_context,
)


class MappingView(IntegrationsView):
    template_name = "integrations/mappings.html"

    def _form(self, request, connection, choices, data=None):
        accounts = [(a.external_id, f"{a.code} {a.name}") for a in choices.bookable_accounts]
        return MappingForm(
            data,
            categories=category_list(org=request.org),
            departments=department_list(org=request.org),
            vendors=vendor_list(org=request.org),
            choices={
                "accounts": accounts,
                "bank_accounts": [(a.code, f"{a.code} {a.name}") for a in choices.bank_accounts],
                "tracking": [
                    (o.option_id, f"{o.category_name}: {o.option_name}")
                    for o in choices.tracking_options
                ],
                "contacts": [(c.external_id, c.name) for c in choices.contacts],
            },
            mappings=selectors.mapping_index(connection=connection),
            connection=connection,
        )

    def _choices_or_error(self, request, connection):
        if connection.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.DISABLED):
            messages.error(request, "Reconnect first: the ledger's lists cannot be read now.")
            return None
        try:
            return selectors.connection_ledger_choices(connection=connection)
        except ConnectorError as error:
            if error.status_code == 4220:
                services.connection_mark_needs_reauth(connection=connection, error=error)
            messages.error(request, ledger_error_text(error))
            return None

    def get(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = self._choices_or_error(request, connection)
        if choices is None:
            return redirect("integrations:detail", connection_id=connection.pk)
        form = self._form(request, connection, choices)
        # Right after Connect this is the admin's page: say what is not in the ledger yet.
        return render(
            request,
            self.template_name,
            {"connection": connection, "form": form, **unpushed_context(connection)},
        )

    def post(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = self._choices_or_error(request, connection)
        if choices is None:
            return redirect("integrations:detail", connection_id=connection.pk)
        if "auto_map" in request.POST:
            created = services.mappings_auto_map_accounts(
                connection=connection, accounts=choices.accounts
            )
            count = len(created)
            messages.success(
                request, f"{count} categor{'y' if count == 1 else 'ies'} mapped by account code."
            )
            return redirect("integrations:mappings", connection_id=connection.pk)
        form = self._form(request, connection, choices, data=request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def picked(kind):
                return {int(name.split("_")[1]): data[name] for name in form.sections[kind]}

            try:
                services.mappings_save(
                    connection=connection,
                    choices=choices,
                    accounts=picked("account"),
                    tracking=picked("tracking"),
                    contacts=picked("contact"),
                    payment_account_code=data["payment_account_code"],
                )
                services.connection_spend_accounts_update(
                    connection=connection,
                    codes={kind: data[f"spend_{kind}_account_code"] for kind in SPEND_KINDS},
                    choices=choices,
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                messages.success(request, "Mappings saved.")
                return redirect("integrations:mappings", connection_id=connection.pk)
        return render(
            request, self.template_name, {"connection": connection, "form": form}, status=400
        )
