"""What the REST API keeps of its own: Idempotency-Key records and expense datasets."""

import uuid

from django.db import models

from accounts.models import OrgScopedModel


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one API key: the request it answered and the answer, for 24 hours.

    The row is written (in progress) in its own transaction before the work starts, so a second
    request with the same key sees it at once and answers 409 instead of doing the work twice.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and the parsed body: the same key with another request is a 422.
    request_fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class ExpenseDataset(OrgScopedModel):
    """A batch of expense transactions pushed by a partner system in one call.

    Each item became an approved expense document. A staged dataset (the organisation's
    default) is held: nothing syncs until `POST /syncs` names it, and that sync pushes all of
    it on the batched path. An accepted one (organisations that sync on push) syncs item by
    item as it arrives; `POST /syncs` then pushes them again in a sync the partner can follow.
    """

    class Status(models.TextChoices):
        STAGED = "staged", "Staged (held until a sync starts)"
        ACCEPTED = "accepted", "Accepted (syncing on push)"
        SYNC_REQUESTED = "sync_requested", "Sync requested"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACCEPTED)
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self) -> str:
        return f"Expense dataset {self.public_id}"


class ExpenseDatasetItem(OrgScopedModel):
    """One expense transaction of a dataset: the partner's id and the document it became."""

    dataset = models.ForeignKey(ExpenseDataset, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    # The partner system's own id of the transaction, unique in the organisation: pushing it
    # again is refused (fix the document and retry instead), never a second expense.
    transaction_id = models.CharField(max_length=64)
    document = models.OneToOneField(
        "documents.Document", on_delete=models.CASCADE, related_name="expense_dataset_item"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "transaction_id"], name="expense_item_unique_transaction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} in {self.dataset_id}"
