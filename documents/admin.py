"""Admin for support agents: find a tenant's records fast; changes of state go through the pages."""

from django.contrib import admin

from documents.models import (
    Attachment,
    Category,
    Contact,
    Department,
    Document,
    DocumentLine,
    Payment,
)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "org", "email", "tax_number", "created_at"]
    list_filter = ["kind", "org"]
    search_fields = ["name", "email", "tax_number"]
    list_select_related = ["org"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "org"]
    list_filter = ["org"]
    search_fields = ["name", "code"]
    list_select_related = ["org"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "org"]
    list_filter = ["org"]
    search_fields = ["name"]
    list_select_related = ["org"]


class DocumentLineInline(admin.TabularInline):
    model = DocumentLine
    extra = 0
    readonly_fields = ["position", "description", "quantity", "unit_amount", "amount", "category"]
    can_delete = False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["paid_at", "amount", "reference", "bank_account", "created_by"]
    readonly_fields = fields
    can_delete = False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "kind",
        "org",
        "contact",
        "issue_date",
        "due_date",
        "total",
        "currency",
        "amount_paid",
        "status",
        "updated_at",
    ]
    list_filter = ["kind", "status", "org", "currency", "issue_date"]
    search_fields = ["number", "contact__name", "description"]
    date_hierarchy = "issue_date"
    list_select_related = ["org", "contact"]
    # Edits bypass the services' checks, so the admin shows documents and does not change them.
    readonly_fields = [
        "org",
        "kind",
        "number",
        "contact",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "category",
        "department",
        "description",
        "status",
        "amount_paid",
        "marked_paid",
        "created_by",
        "approved_by",
        "approved_at",
        "created_at",
        "updated_at",
    ]
    inlines = [DocumentLineInline, PaymentInline, AttachmentInline]

    def has_add_permission(self, request):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "document",
        "org",
        "amount",
        "paid_at",
        "reference",
        "bank_account",
        "created_at",
    ]
    list_filter = ["org", "paid_at"]
    search_fields = ["document__number", "reference"]
    list_select_related = ["org", "document"]
    readonly_fields = [
        "org",
        "document",
        "amount",
        "paid_at",
        "reference",
        "bank_account",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "document", "org", "content_type", "size", "uploaded_at"]
    list_filter = ["org", "content_type"]
    search_fields = ["filename", "document__number"]
    list_select_related = ["org", "document"]
    readonly_fields = [
        "org",
        "document",
        "file",
        "filename",
        "content_type",
        "size",
        "uploaded_by",
        "uploaded_at",
    ]
