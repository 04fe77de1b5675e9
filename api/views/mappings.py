"""A connection's mapping options (read live from the ledger) and its mappings (read and set):
what a partner needs to fix a 4000 missing-mapping failure without our pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response

from api.exceptions import ApplicationError
from api.schema import ErrorSerializer, api_schema
from api.serializers.mappings import (
    MappingOptionsSerializer,
    MappingsSerializer,
    MappingsUpdateSerializer,
)
from api.views.base import ApiView
from integrations import selectors, services
from integrations.connectors.errors import ConnectorError
from integrations.models import ConnectionStatus
from integrations.views.base import ledger_error_text

TAGS = ["Mappings"]
LEDGER_ERRORS = {
    409: OpenApiResponse(
        ErrorSerializer,
        description="The connection must be reconnected before the ledger's lists can be read.",
    ),
    502: OpenApiResponse(
        ErrorSerializer,
        description="The ledger refused or failed to answer (code `ledger_error`): retry later.",
    ),
}
# mappings_save's field names (the mapping page's) → the API's.
SAVE_FIELDS = {"payment_account_code": "payment_bank_account_code"}


def _ledger_choices(connection, *, with_tax_rates: bool = False):
    if connection.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.DISABLED):
        raise ApplicationError(
            "Reconnect the connection first: the ledger's lists cannot be read now.",
            code="connection_needs_reconnect",
            status_code=status.HTTP_409_CONFLICT,
        )
    try:
        return selectors.connection_ledger_choices(
            connection=connection, with_tax_rates=with_tax_rates
        )
    except ConnectorError as error:
        if error.status_code == 4220:
            services.connection_mark_needs_reauth(connection=connection, error=error)
        raise ApplicationError(
            ledger_error_text(error), code="ledger_error", status_code=status.HTTP_502_BAD_GATEWAY
        ) from error


class MappingOptionsApi(ApiView):
    @api_schema(
        summary="Read a connection's mapping options",
        description="What the ledger offers, read from it now: accounts a category can map to, "
        "bank accounts payments can be paid from, tax rates, tracking categories with their "
        "options (what a department maps to) and contacts (a vendor's match).",
        responses={200: MappingOptionsSerializer, **LEDGER_ERRORS},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, connection_id: int):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = _ledger_choices(connection, with_tax_rates=True)
        categories: dict[str, dict] = {}
        for option in choices.tracking_options:
            category = categories.setdefault(
                option.category_id,
                {"id": option.category_id, "name": option.category_name, "options": []},
            )
            category["options"].append({"id": option.option_id, "name": option.option_name})
        data = {
            "accounts": choices.bookable_accounts,
            "bank_accounts": choices.bank_accounts,
            "tax_rates": choices.tax_rates,
            "tracking_categories": list(categories.values()),
            "contacts": choices.contacts,
        }
        return Response(MappingOptionsSerializer(data).data)


class MappingsApi(ApiView):
    @api_schema(
        summary="Read a connection's mappings",
        description="Every category, department and vendor with what it maps to in the "
        "ledger (null: not mapped), and the bank account payments are paid from.",
        responses={200: MappingsSerializer},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, connection_id: int):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        return Response(
            MappingsSerializer(selectors.connection_mappings(connection=connection)).data
        )

    @api_schema(
        summary="Set a connection's mappings",
        description="Only what is sent changes. Each id is checked against the ledger's "
        "mapping options now (an unknown one is a 400 naming the field); null unmaps. Then "
        "retry the failed items (`POST /syncs/{id}/retry-failed`).",
        request=MappingsUpdateSerializer,
        responses={200: MappingsSerializer, **LEDGER_ERRORS},
        lookup=True,
        tags=TAGS,
    )
    def patch(self, request, connection_id: int):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = _ledger_choices(connection)
        context = {
            "org": request.org,
            "choices": {
                "accounts": {a.external_id for a in choices.bookable_accounts},
                "bank_accounts": {a.code for a in choices.bank_accounts},
                "tracking": {o.option_id for o in choices.tracking_options},
                "contacts": {c.external_id for c in choices.contacts},
            },
        }
        data = MappingsUpdateSerializer(data=request.data, context=context)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        try:
            services.mappings_save(
                connection=connection,
                choices=choices,
                accounts={m["category_id"].pk: m["account_id"] for m in fields.get("accounts", [])},
                tracking={
                    m["department_id"].pk: m["tracking_option_id"]
                    for m in fields.get("tracking", [])
                },
                contacts={m["vendor_id"].pk: m["contact_id"] for m in fields.get("contacts", [])},
                payment_account_code=fields.get(
                    "payment_bank_account_code",
                    connection.settings.get("payment_account_code", ""),
                ),
            )
        except DjangoValidationError as error:
            raise DjangoValidationError(
                {SAVE_FIELDS.get(key, key): value for key, value in error.message_dict.items()}
            ) from error
        if "spend_account_codes" in fields:
            services.connection_spend_accounts_update(
                connection=connection, codes=dict(fields["spend_account_codes"]), choices=choices
            )
        connection.refresh_from_db()
        return Response(
            MappingsSerializer(selectors.connection_mappings(connection=connection)).data
        )
