from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("synclog", "0004_attention_digest"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="selection_prepared",
            field=models.PositiveIntegerField(default=0, db_default=0, editable=False),
        ),
    ]
