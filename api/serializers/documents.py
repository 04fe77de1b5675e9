"""Documents (bills, invoices, expenses) with their lines; attachments; payments."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import OrgRelatedField, exchange_rate_field, tax_type_field
from documents.models import (
    Attachment,
    Category,
    Contact,
    Department,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    ExpenseType,
    Payment,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 4}
MAX_LINES = 500


class DocumentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentLine
        fields = [
            "position",
            "description",
            "quantity",
            "unit_amount",
            "amount",
            "category",
            "department",
            "tax_type",
        ]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.name", read_only=True)
    expense_type = serializers.SerializerMethodField(
        help_text="An expense's type: card, bank (spend money) or reimbursable (a bill to the "
        "employee); null otherwise."
    )
    amount_due = serializers.DecimalField(**MONEY, read_only=True)
    lines = DocumentLineSerializer(many=True, read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "number",
            "contact",
            "contact_name",
            "issue_date",
            "due_date",
            "currency",
            "exchange_rate",
            "expense_type",
            "total",
            "amount_paid",
            "amount_due",
            "category",
            "department",
            "description",
            "status",
            "marked_paid",
            "approved_at",
            "created_at",
            "updated_at",
            "lines",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": list(ExpenseType.values), "nullable": True})
    def get_expense_type(self, document: Document) -> str | None:
        return document.expense_type or None


class DocumentLineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    quantity = serializers.DecimalField(**QUANTITY, min_value=0, required=False, default=1)
    unit_amount = serializers.DecimalField(**MONEY, min_value=0)
    category = OrgRelatedField(
        Category, required=False, allow_null=True, default=None, help_text="Category id."
    )
    department = OrgRelatedField(
        Department,
        required=False,
        allow_null=True,
        default=None,
        help_text="The line's own tracking (department id); default: the document's.",
    )
    tax_type = tax_type_field()


class DocumentCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices, default=DocumentKind.BILL)
    number = serializers.CharField(max_length=64)
    contact = OrgRelatedField(
        Contact, help_text="Contact id: a vendor for bills and expenses, a customer for invoices."
    )
    issue_date = serializers.DateField()
    due_date = serializers.DateField()
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    exchange_rate = exchange_rate_field(
        help_text="The ledger's rate: units of `currency` per unit of its base currency "
        "(stored with the entry); null: the ledger's rate of the day.",
    )
    expense_type = serializers.ChoiceField(
        choices=ExpenseType.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Expenses: card or bank (booked as spend money from the connection's card or "
        "bank account), reimbursable (a bill to the employee, the contact).",
    )
    total = serializers.DecimalField(**MONEY, min_value=0, help_text="The sum of the lines.")
    category = OrgRelatedField(Category, required=False, allow_null=True, default=None)
    department = OrgRelatedField(Department, required=False, allow_null=True, default=None)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    lines = DocumentLineInputSerializer(many=True, max_length=MAX_LINES)
    status = serializers.ChoiceField(
        choices=[DocumentStatus.DRAFT, DocumentStatus.AWAITING_APPROVAL],
        default=DocumentStatus.DRAFT,
        help_text="draft (default) or awaiting_approval (submitted for approval at once).",
    )


class DocumentUpdateSerializer(serializers.Serializer):
    """Every field optional: only those sent change. `lines`, when sent, replace all lines."""

    number = serializers.CharField(max_length=64, required=False)
    contact = OrgRelatedField(Contact, required=False)
    issue_date = serializers.DateField(required=False)
    due_date = serializers.DateField(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    total = serializers.DecimalField(**MONEY, min_value=0, required=False)
    category = OrgRelatedField(Category, required=False, allow_null=True)
    department = OrgRelatedField(Department, required=False, allow_null=True)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    lines = DocumentLineInputSerializer(many=True, required=False, max_length=MAX_LINES)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "document", "filename", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A PDF, PNG or JPEG (checked by its bytes), at most ATTACHMENT_MAX_BYTES "
        "(10 MB by default)."
    )


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "document", "amount", "paid_at", "reference", "bank_account", "created_at"]
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=0)
    paid_at = serializers.DateField()
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bank_account = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
