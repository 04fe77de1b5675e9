from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The Documents list's order (newest issue date first) as an index, so that a page is read
    from it instead of sorting every document of the organisation (1.8 s p95 at 1,000,000
    documents). Built without locking out writes to a big table."""

    atomic = False

    dependencies = [
        ("documents", "0002_expense_type_tax_rate"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="document",
            index=models.Index(fields=["org", "-issue_date", "-id"], name="document_list_idx"),
        ),
    ]
