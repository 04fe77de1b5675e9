from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

# The message test of a drift (synclog.models.LEDGER_DRIFT_MESSAGE) as it stands from here:
# "Payment voided in " joins it (a payment voided in QuickBooks). A query's test must read the
# same as an index's condition for PostgreSQL to use the index.
DRIFT_MESSAGE = models.Q(
    *(
        models.Q(last_error_message__startswith=prefix)
        for prefix in (
            "Voided in ",
            "Deleted in ",
            "Changed in ",
            "Paid in ",
            "Payment deleted in ",
            "Payment voided in ",
        )
    ),
    _connector=models.Q.OR,
)


def _rebuilt(name: str, condition: models.Q) -> list:
    """The partial index `name` on its new condition: built beside the old one under a name of
    its own, the old one dropped, the new one given the old name. Each step concurrent (or, the
    rename, under a lock that lets the workers' writes through): a big table."""
    building = f"{name[:-4]}_new_idx"
    return [
        AddIndexConcurrently(
            model_name="syncrecord",
            index=models.Index(
                fields=["document", "connection"], condition=condition, name=building
            ),
        ),
        RemoveIndexConcurrently(model_name="syncrecord", name=name),
        migrations.RenameIndex(model_name="syncrecord", new_name=name, old_name=building),
    ]


class Migration(migrations.Migration):
    """The Failed records' two indexes by kind (0017) take a payment voided in the ledger as a
    drift, so that the Documents list's Drifted filter and column find it, and its Failed ones
    leave it out."""

    atomic = False

    dependencies = [
        ("synclog", "0021_syncrecord_lock_held_idx"),
    ]

    operations = [
        *_rebuilt("syncrecord_failed_idx", models.Q(status=2) & ~DRIFT_MESSAGE),
        *_rebuilt("syncrecord_drifted_idx", models.Q(status=2) & DRIFT_MESSAGE),
    ]
