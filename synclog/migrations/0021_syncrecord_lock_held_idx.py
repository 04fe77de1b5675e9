from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The records held for their connection's lock date, an index of their own: the connection
    page counts them without reading every data push failure's message. Built without locking
    out the workers' writes to a big table."""

    atomic = False

    dependencies = [
        ("synclog", "0020_syncstatuschange_actor_label"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="syncrecord",
            index=models.Index(
                condition=models.Q(
                    ("last_error_code", 5130),
                    ("last_error_message__startswith", "Locked until "),
                    ("status", 2),
                ),
                fields=["connection"],
                name="syncrecord_lock_held_idx",
            ),
        ),
    ]
