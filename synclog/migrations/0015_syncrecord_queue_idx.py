from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The claim's index (connection, status, next_retry_at) carries pending_trigger too, so that
    the quota meter counts a connection's queue by trigger from the index alone. Built beside the
    old one and swapped without locking out the workers' writes (a big table)."""

    atomic = False

    dependencies = [
        ("synclog", "0014_ledger_reconcile_requested"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="syncrecord",
            index=models.Index(
                fields=["connection", "status", "next_retry_at"],
                include=["pending_trigger"],
                name="syncrecord_queue_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="syncrecord", name="synclog_syn_connect_521444_idx"),
    ]
