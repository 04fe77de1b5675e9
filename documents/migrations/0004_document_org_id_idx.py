from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The organisation's documents by id, so that the Documents list's bounded count under a
    sync status filter merges them with the records' document ids from the index alone. Built
    without locking out writes to a big table."""

    atomic = False

    dependencies = [
        ("documents", "0003_document_list_idx"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="document",
            index=models.Index(fields=["org", "id"], name="document_org_id_idx"),
        ),
    ]
