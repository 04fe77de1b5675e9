"""Requires attention, maintained (synclog.services.attention_summary).

A trigger on synclog_syncrecord (migration 0009) appends an AttentionChange for every record that
enters, leaves or moves between Failed groups; the page folds them into the counts below before
it reads them, so it reads one page of groups and two numbers instead of grouping every Failed
record. No foreign keys: the trigger writes while Django deletes a document or an organisation
in its own order, and these rows only count; the fold drops the rows of what is gone.
"""

from django.db import models


class AttentionChange(models.Model):
    """A Failed record's group (or document) changed: recount it at the next fold."""

    org_id = models.BigIntegerField()
    connection_id = models.BigIntegerField()
    code = models.IntegerField()
    digest = models.CharField(max_length=32)
    document_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["org_id"], name="attentionchange_org_idx")]

    def __str__(self) -> str:
        return f"change of group {self.connection_id}/{self.code}/{self.digest}"


class AttentionGroupCount(models.Model):
    """The counts of one Failed group (connection, code, digest of the message), as recounted at
    the last fold: the rows of the Requires-attention page, largest first."""

    org_id = models.BigIntegerField()
    connection_id = models.BigIntegerField()
    code = models.IntegerField()
    digest = models.CharField(max_length=32)
    count = models.IntegerField()
    document_count = models.IntegerField()
    n_bill = models.IntegerField(default=0)
    n_bill_payment = models.IntegerField(default=0)
    n_invoice = models.IntegerField(default=0)
    n_invoice_payment = models.IntegerField(default=0)
    n_expense = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection_id", "code", "digest"], name="attentiongroupcount_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["org_id", "-count", "code", "digest", "connection_id"],
                name="attentiongroupcount_page_idx",
            )
        ]

    def __str__(self) -> str:
        return f"group {self.connection_id}/{self.code}/{self.digest}: {self.count}"


class AttentionDocument(models.Model):
    """A document with at least one Failed record (what the tab's count counts)."""

    document_id = models.BigIntegerField(primary_key=True)
    org_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"document {self.document_id} needs attention"


class AttentionTotal(models.Model):
    """An organisation's Failed documents and groups, as of the last fold."""

    org_id = models.BigIntegerField(primary_key=True)
    documents = models.IntegerField(default=0)
    groups = models.IntegerField(default=0)
    # How many changes the folds consumed: with the changes still to fold, how many times a
    # record of the organisation entered or left Failed (attention_failed_version).
    changes_folded = models.BigIntegerField(default=0, db_default=0)

    def __str__(self) -> str:
        return f"org {self.org_id}: {self.documents} documents in {self.groups} groups"
