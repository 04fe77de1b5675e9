from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0006_connection_lock_date"),
    ]

    operations = [
        migrations.AlterField(
            model_name="connectionevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("connected", "Connected"),
                    ("reconnected", "Reconnected"),
                    ("disabled", "Disabled"),
                    ("enabled", "Enabled"),
                    ("disconnected", "Disconnected"),
                    ("policy_changed", "Locked-period policy changed"),
                    ("ledger_check", "Ledger check requested"),
                ],
                max_length=16,
            ),
        ),
    ]
