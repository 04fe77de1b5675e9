"""Mapping options (what the ledger offers) and a connection's mappings (what ours map to)."""

from rest_framework import serializers
from rest_framework.fields import empty

from api.serializers.common import OrgRelatedField
from documents.models import Category, Contact, ContactKind, Department

# --- what the ledger offers --------------------------------------------------------------------


class LedgerAccountSerializer(serializers.Serializer):
    id = serializers.CharField(source="external_id", help_text="The ledger's account id.")
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="The ledger's account type (EXPENSE, BANK, …).")
    account_class = serializers.CharField(help_text="EXPENSE, REVENUE, ASSET, …")


class LedgerBankAccountSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="What payment_bank_account_code takes.")
    id = serializers.CharField(source="external_id")
    name = serializers.CharField()


class LedgerTaxRateSerializer(serializers.Serializer):
    tax_type = serializers.CharField(
        help_text="The ledger's tax type or tax code, as the ledger names it."
    )
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="Percent.")


class LedgerTrackingOptionSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class LedgerTrackingCategorySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    options = LedgerTrackingOptionSerializer(many=True)


class LedgerContactSerializer(serializers.Serializer):
    id = serializers.CharField(source="external_id")
    name = serializers.CharField()


class MappingOptionsSerializer(serializers.Serializer):
    accounts = LedgerAccountSerializer(
        many=True, help_text="Active expense and revenue accounts: what a category maps to."
    )
    bank_accounts = LedgerBankAccountSerializer(
        many=True, help_text="Active bank accounts: what payments are paid from."
    )
    tax_rates = LedgerTaxRateSerializer(many=True, help_text="Active tax rates.")
    tracking_categories = LedgerTrackingCategorySerializer(
        many=True, help_text="What a department maps to: one option of a category."
    )
    contacts = LedgerContactSerializer(many=True, help_text="Active contacts: a vendor's match.")


# --- what ours map to --------------------------------------------------------------------------


class MappedAccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()


class AccountMappingSerializer(serializers.Serializer):
    category_id = serializers.IntegerField()
    category_name = serializers.CharField()
    account = MappedAccountSerializer(allow_null=True, help_text="null: not mapped.")


class MappedTrackingOptionSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    category_id = serializers.CharField()
    category_name = serializers.CharField()


class TrackingMappingSerializer(serializers.Serializer):
    department_id = serializers.IntegerField()
    department_name = serializers.CharField()
    tracking_option = MappedTrackingOptionSerializer(allow_null=True)


class MappedContactSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class ContactMappingSerializer(serializers.Serializer):
    vendor_id = serializers.IntegerField()
    vendor_name = serializers.CharField()
    contact = MappedContactSerializer(
        allow_null=True, help_text="null: the ledger matches or creates the contact by name."
    )


class SpendAccountsSerializer(serializers.Serializer):
    card = serializers.CharField(
        allow_null=True, help_text="The bank account code card expenses are spent from."
    )
    bank = serializers.CharField(
        allow_null=True, help_text="The bank account code bank expenses are spent from."
    )


class SpendAccountsInSerializer(serializers.Serializer):
    card = serializers.CharField(required=False, allow_blank=True, max_length=20)
    bank = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def validate(self, attrs):
        for kind, code in attrs.items():
            if code and code not in self.context["choices"]["bank_accounts"]:
                raise serializers.ValidationError(
                    {kind: "Not an active bank account of the ledger: see mapping-options."}
                )
        return attrs


class MappingsSerializer(serializers.Serializer):
    accounts = AccountMappingSerializer(many=True, help_text="Every category.")
    tracking = TrackingMappingSerializer(many=True, help_text="Every department.")
    contacts = ContactMappingSerializer(many=True, help_text="Every vendor.")
    payment_bank_account_code = serializers.CharField(
        allow_null=True, help_text="The bank account payments are paid from; null: none yet."
    )
    spend_account_codes = SpendAccountsSerializer(
        help_text="The bank (or card) accounts card and bank expenses are spent from."
    )


# --- setting them ------------------------------------------------------------------------------


class LedgerChoiceField(serializers.CharField):
    """An id or code the ledger offers now: one of the view's `choices[choices_name]` (what
    mapping-options lists), else a 400 saying `refusal`. Blank, or null, is "": none."""

    def __init__(self, *, choices_name: str, refusal: str, **kwargs):
        self.choices_name, self.refusal = choices_name, refusal
        # Unless told otherwise, a mapping's ledger id: null unmaps it.
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        if value and value not in self.context["choices"][self.choices_name]:
            raise serializers.ValidationError(self.refusal)
        return value or ""


class AccountMappingInSerializer(serializers.Serializer):
    category_id = OrgRelatedField(Category)
    account_id = LedgerChoiceField(
        choices_name="accounts",
        refusal="Not an active expense or revenue account of the ledger: see mapping-options.",
        help_text="An id of mapping-options' accounts; null unmaps.",
    )


class TrackingMappingInSerializer(serializers.Serializer):
    department_id = OrgRelatedField(Department)
    tracking_option_id = LedgerChoiceField(
        choices_name="tracking",
        refusal="Not a tracking option of the ledger: see mapping-options.",
        help_text="An option id of a tracking category; null unmaps.",
    )


class VendorField(OrgRelatedField):
    def get_queryset(self):
        return super().get_queryset().filter(kind=ContactKind.VENDOR)


class ContactMappingInSerializer(serializers.Serializer):
    vendor_id = VendorField(Contact)
    contact_id = LedgerChoiceField(
        choices_name="contacts",
        refusal="Not an active contact of the ledger: see mapping-options.",
        help_text="A contact id of the ledger; null: match by name.",
    )


class MappingsUpdateSerializer(serializers.Serializer):
    """Only what is sent changes: each list names the objects to (re)map or unmap."""

    accounts = AccountMappingInSerializer(many=True, required=False)
    tracking = TrackingMappingInSerializer(many=True, required=False)
    contacts = ContactMappingInSerializer(many=True, required=False)
    payment_bank_account_code = LedgerChoiceField(
        choices_name="bank_accounts",
        refusal="Not an active bank account of the ledger: see mapping-options.",
        required=False,
        allow_null=False,
        max_length=20,
        help_text="A code of mapping-options' bank_accounts; blank: none.",
    )
    spend_account_codes = SpendAccountsInSerializer(
        required=False,
        help_text="Codes of mapping-options' bank_accounts for card and bank expenses; "
        "blank unsets one.",
    )
