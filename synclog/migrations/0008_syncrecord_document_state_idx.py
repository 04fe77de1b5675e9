from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("synclog", "0007_syncattempt_error_detail"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="syncrecord",
            index=models.Index(
                fields=["document", "connection", "status"], name="syncrecord_document_state_idx"
            ),
        ),
    ]
