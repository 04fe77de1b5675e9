"""The documents list's Not pushed, maintained (migration 0018's triggers keep it).

A row says: this approved, paid or void document of the connection's organisation has no record
on this connection, which collects (active, or waiting for a reconnect). Nothing will push it by
itself. The filter and the connection page read these few rows instead of an anti-join of every
document of the organisation with every record of the connection (531 ms at 1,000,000 documents).

The triggers, not the services, keep it, so that no write can miss it: a record's insert (any
bulk_create) takes its pair out; a document that becomes syncable, and a connection that starts
collecting, put in the pairs that lack a record; a document that stops being syncable, and a
connection that stops collecting or is deleted, take theirs out. No foreign keys, as for
Requires attention's rows: the triggers write while Django deletes in its own order.
"""

from django.db import models


class UnpushedDocument(models.Model):
    """A syncable document with no record on a collecting connection of its organisation."""

    pk = models.CompositePrimaryKey("connection_id", "document_id")
    connection_id = models.BigIntegerField()
    document_id = models.BigIntegerField()
    org_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["document_id"], name="unpusheddocument_document_idx")]

    def __str__(self) -> str:
        return f"document {self.document_id} not pushed to connection {self.connection_id}"
