"""Mapping options (what the ledger offers) and a connection's mappings (what ours map to)."""

from rest_framework import serializers

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


def _ledger_id(*, required_help: str) -> serializers.CharField:
    return serializers.CharField(
        allow_null=True, allow_blank=True, max_length=100, help_text=required_help
    )


class AccountMappingInSerializer(serializers.Serializer):
    category_id = OrgRelatedField(Category)
    account_id = _ledger_id(required_help="An id of mapping-options' accounts; null unmaps.")

    def validate_account_id(self, value):
        if value and value not in self.context["choices"]["accounts"]:
            raise serializers.ValidationError(
                "Not an active expense or revenue account of the ledger: see mapping-options."
            )
        return value or ""


class TrackingMappingInSerializer(serializers.Serializer):
    department_id = OrgRelatedField(Department)
    tracking_option_id = _ledger_id(
        required_help="An option id of a tracking category; null unmaps."
    )

    def validate_tracking_option_id(self, value):
        if value and value not in self.context["choices"]["tracking"]:
            raise serializers.ValidationError(
                "Not a tracking option of the ledger: see mapping-options."
            )
        return value or ""


class VendorField(OrgRelatedField):
    def get_queryset(self):
        return super().get_queryset().filter(kind=ContactKind.VENDOR)


class ContactMappingInSerializer(serializers.Serializer):
    vendor_id = VendorField(Contact)
    contact_id = _ledger_id(required_help="A contact id of the ledger; null: match by name.")

    def validate_contact_id(self, value):
        if value and value not in self.context["choices"]["contacts"]:
            raise serializers.ValidationError(
                "Not an active contact of the ledger: see mapping-options."
            )
        return value or ""


class MappingsUpdateSerializer(serializers.Serializer):
    """Only what is sent changes: each list names the objects to (re)map or unmap."""

    accounts = AccountMappingInSerializer(many=True, required=False)
    tracking = TrackingMappingInSerializer(many=True, required=False)
    contacts = ContactMappingInSerializer(many=True, required=False)
    payment_bank_account_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="A code of mapping-options' bank_accounts; blank: none.",
    )
    spend_account_codes = SpendAccountsInSerializer(
        required=False,
        help_text="Codes of mapping-options' bank_accounts for card and bank expenses; "
        "blank unsets one.",
    )

    def validate_payment_bank_account_code(self, value):
        if value and value not in self.context["choices"]["bank_accounts"]:
            raise serializers.ValidationError(
                "Not an active bank account of the ledger: see mapping-options."
            )
        return value
