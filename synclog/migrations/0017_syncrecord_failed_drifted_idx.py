from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# The message test of a drift (synclog.models.LEDGER_DRIFT_MESSAGE) as it stood when these
# indexes were built: a query's test must read the same for PostgreSQL to use them.
DRIFT_MESSAGE = models.Q(
    *(
        models.Q(last_error_message__startswith=prefix)
        for prefix in (
            "Voided in ",
            "Deleted in ",
            "Changed in ",
            "Paid in ",
            "Payment deleted in ",
        )
    ),
    _connector=models.Q.OR,
)


class Migration(migrations.Migration):
    """The Failed records split by kind, failure or drift, each an index by document of its own,
    so that the Documents list's Failed and Drifted filters read no record's message. Built
    without locking out the workers' writes to a big table; each holds only Failed records."""

    atomic = False

    dependencies = [
        ("synclog", "0016_attentiontotal_changes_folded"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="syncrecord",
            index=models.Index(
                fields=["document", "connection"],
                condition=models.Q(status=2) & ~DRIFT_MESSAGE,
                name="syncrecord_failed_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="syncrecord",
            index=models.Index(
                fields=["document", "connection"],
                condition=models.Q(status=2) & DRIFT_MESSAGE,
                name="syncrecord_drifted_idx",
            ),
        ),
    ]
