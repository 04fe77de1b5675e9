"""Admin for API keys (never their digest), Idempotency-Key records and expense datasets."""

from django.contrib import admin

from accounts.models import ApiKey
from api.models import ExpenseDataset, ExpenseDatasetItem, IdempotencyRecord


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "org", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["org"]
    search_fields = ["name", "prefix", "org__name"]
    list_select_related = ["org"]
    # Keys are made on the API keys page (the key is shown once there); here only read.
    fields = ["org", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "api_key", "method", "path", "state", "response_status", "created_at"]
    list_filter = ["state", "method"]
    search_fields = ["key", "path"]
    list_select_related = ["api_key"]
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False


class ExpenseDatasetItemInline(admin.TabularInline):
    model = ExpenseDatasetItem
    extra = 0
    fields = ["position", "transaction_id", "document"]
    readonly_fields = fields
    can_delete = False


@admin.register(ExpenseDataset)
class ExpenseDatasetAdmin(admin.ModelAdmin):
    list_display = ["public_id", "org", "status", "item_count", "created_at"]
    list_filter = ["status", "org"]
    search_fields = ["public_id", "items__transaction_id"]
    list_select_related = ["org"]
    readonly_fields = ["public_id", "org", "created_by_key", "status", "item_count", "created_at"]
    inlines = [ExpenseDatasetItemInline]

    def has_add_permission(self, request):
        return False
