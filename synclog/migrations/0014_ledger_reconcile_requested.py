from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("synclog", "0013_synced_entry_date"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerreconcile",
            name="requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ledgerreconcile",
            name="scheduled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
