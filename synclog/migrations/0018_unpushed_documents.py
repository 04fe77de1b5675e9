from django.db import migrations, models

# As synclog.rules stood when these triggers were written (tests/synclog/test_unpushed_documents.py
# checks that they still agree): the documents that sync, and the connections that collect.
SYNCABLE_STATUSES = ("approved", "paid", "void")
SYNCABLE_KINDS = ("bill", "invoice", "expense")
COLLECTING_STATUSES = ("active", "needs_reauth")


# pg_advisory_xact_lock(UNPUSHED_LOCK, organisation): a document's trigger holds it shared, a
# connection's exclusive, so that a document approved while a connection is made (or disabled)
# is seen by one of the two: the one that waits reads after the other has committed.
UNPUSHED_LOCK = 0x756E_7075  # "unpu"


def _among(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def syncable(row: str) -> str:
    """The SQL test that the document `row` (an alias, NEW or OLD) syncs."""
    return f"{row}.status IN ({_among(SYNCABLE_STATUSES)}) AND {row}.kind IN ({_among(SYNCABLE_KINDS)})"


def collecting(row: str) -> str:
    """The SQL test that the connection `row` collects."""
    return f"{row}.status IN ({_among(COLLECTING_STATUSES)})"


# The pairs (connection, document) a connection lacks: what a connection that starts collecting
# puts in, and what the migration fills for the connections collecting now.
CONNECTION_PAIRS = f"""
INSERT INTO synclog_unpusheddocument (connection_id, document_id, org_id)
SELECT c.id, d.id, d.org_id
FROM integrations_connection c JOIN documents_document d ON d.org_id = c.org_id
WHERE {{connections}} AND {syncable("d")}
  AND NOT EXISTS (
      SELECT 1 FROM synclog_syncrecord r WHERE r.connection_id = c.id AND r.document_id = d.id
  )
ON CONFLICT DO NOTHING;
"""

TRIGGERS = f"""
CREATE FUNCTION synclog_unpushed_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pair record;
BEGIN
    -- One probe of the primary key per new record: the planner knows nothing of a transition
    -- table, and a hash join would read every unpushed pair (a million after a first connect).
    FOR pair IN SELECT connection_id, document_id FROM inserted_records LOOP
        DELETE FROM synclog_unpusheddocument
        WHERE connection_id = pair.connection_id AND document_id = pair.document_id;
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER syncrecord_unpushed_insert AFTER INSERT ON synclog_syncrecord
    REFERENCING NEW TABLE AS inserted_records
    FOR EACH STATEMENT EXECUTE FUNCTION synclog_unpushed_record();

CREATE FUNCTION synclog_unpushed_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NOT ({syncable("NEW")}) THEN
        DELETE FROM synclog_unpusheddocument
        WHERE document_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared({UNPUSHED_LOCK}, NEW.org_id::integer);
    INSERT INTO synclog_unpusheddocument (connection_id, document_id, org_id)
    SELECT c.id, NEW.id, NEW.org_id FROM integrations_connection c
    WHERE c.org_id = NEW.org_id AND {collecting("c")}
      AND NOT EXISTS (
          SELECT 1 FROM synclog_syncrecord r WHERE r.connection_id = c.id AND r.document_id = NEW.id
      )
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER document_unpushed_insert AFTER INSERT ON documents_document
    FOR EACH ROW WHEN ({syncable("NEW")})
    EXECUTE FUNCTION synclog_unpushed_document();
CREATE TRIGGER document_unpushed_update AFTER UPDATE OF status, kind ON documents_document
    FOR EACH ROW WHEN (
        ({syncable("OLD")}) IS DISTINCT FROM ({syncable("NEW")})
    ) EXECUTE FUNCTION synclog_unpushed_document();
CREATE TRIGGER document_unpushed_delete AFTER DELETE ON documents_document
    FOR EACH ROW EXECUTE FUNCTION synclog_unpushed_document();

CREATE FUNCTION synclog_unpushed_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
        {UNPUSHED_LOCK}, (CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END)::integer
    );
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM synclog_unpusheddocument WHERE connection_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND {collecting("NEW")} THEN
        {CONNECTION_PAIRS.format(connections="c.id = NEW.id").strip()}
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER connection_unpushed_insert AFTER INSERT ON integrations_connection
    FOR EACH ROW WHEN ({collecting("NEW")})
    EXECUTE FUNCTION synclog_unpushed_connection();
CREATE TRIGGER connection_unpushed_update AFTER UPDATE OF status ON integrations_connection
    FOR EACH ROW WHEN (
        ({collecting("OLD")}) IS DISTINCT FROM ({collecting("NEW")})
    ) EXECUTE FUNCTION synclog_unpushed_connection();
CREATE TRIGGER connection_unpushed_delete AFTER DELETE ON integrations_connection
    FOR EACH ROW EXECUTE FUNCTION synclog_unpushed_connection();

-- The documents not pushed now.
{CONNECTION_PAIRS.format(connections=collecting("c"))}
"""
REVERSE_TRIGGERS = """
DROP TRIGGER syncrecord_unpushed_insert ON synclog_syncrecord;
DROP TRIGGER document_unpushed_insert ON documents_document;
DROP TRIGGER document_unpushed_update ON documents_document;
DROP TRIGGER document_unpushed_delete ON documents_document;
DROP TRIGGER connection_unpushed_insert ON integrations_connection;
DROP TRIGGER connection_unpushed_update ON integrations_connection;
DROP TRIGGER connection_unpushed_delete ON integrations_connection;
DROP FUNCTION synclog_unpushed_record();
DROP FUNCTION synclog_unpushed_document();
DROP FUNCTION synclog_unpushed_connection();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0004_document_org_id_idx"),
        ("integrations", "0007_connection_event_ledger_check"),
        ("synclog", "0017_syncrecord_failed_drifted_idx"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnpushedDocument",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "connection_id",
                        "document_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("connection_id", models.BigIntegerField()),
                ("document_id", models.BigIntegerField()),
                ("org_id", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["document_id"], name="unpusheddocument_document_idx")
                ],
            },
        ),
        migrations.RunSQL(TRIGGERS, REVERSE_TRIGGERS),
    ]
