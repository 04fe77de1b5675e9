from rest_framework import serializers

MAX_ID = 2**63 - 1


class StrictIntegerField(serializers.IntegerField):
    """An integer; not a boolean (Python counts True as 1)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def tax_type_field() -> serializers.CharField:
    """A line's tax type in the ledger's words, optional (blank: no tax)."""
    return serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="The ledger's tax type (mapping-options `tax_rates`); blank: no tax.",
    )


def exchange_rate_field(*, help_text: str) -> serializers.DecimalField:
    """An optional exchange rate (units of the currency per unit of the ledger's base
    currency); null: the ledger's rate of the day."""
    return serializers.DecimalField(
        max_digits=18,
        decimal_places=6,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text=help_text,
    )


class OrgRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of one of the organisation's objects. Another organisation's id reads as a
    missing one ("does not exist"), so ids cannot be probed."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("queryset", model.objects.none())
        kwargs.setdefault("pk_field", id_field())
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_org(self.context["org"])


class MissingMappingSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["account", "tracking", "payment_bank_account"],
        help_text="account: a category's ledger account; tracking: a department's tracking "
        "option; payment_bank_account: the connection's bank account for payments.",
    )
    local_id = serializers.IntegerField(
        allow_null=True, help_text="The category or department id (null for the bank account)."
    )
    name = serializers.CharField(help_text="Its name here.")


class ErrorInfoSerializer(serializers.Serializer):
    """Why a push failed: the ledger's words, what they mean and how to fix it."""

    status_code = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(help_text="The ledger's (or our) message, as given.")
    explanation = serializers.CharField(help_text="What it means.")
    hint = serializers.CharField(help_text="How to fix it.")
    missing_mapping = MissingMappingSerializer(
        allow_null=True,
        help_text="For a 4000 missing mapping: what to map (set it with PATCH "
        "/connections/{id}/mappings, then retry); null otherwise.",
    )


def error_info(
    *, code, message: str, explanation: str, hint: str, detail: dict | None = None
) -> dict | None:
    if not (code or message):
        return None
    return {
        "status_code": code,
        "message": message,
        "explanation": explanation,
        "hint": hint,
        "missing_mapping": (detail or {}).get("missing_mapping"),
    }


def record_error_info(record, *, code=None) -> dict | None:
    """A sync record's last error as error_info (`code` when the record keeps none)."""
    return error_info(
        code=record.last_error_code or code,
        message=record.last_error_message,
        explanation=record.last_error_explanation,
        hint=record.last_error_hint,
    )
