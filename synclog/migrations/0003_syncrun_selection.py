from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("synclog", "0002_history_attention_run_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="selection",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
