"""bench.pages's data: a bulk loader (INSERT ... SELECT over generate_series, in PostgreSQL itself)
of one organisation's documents, lines, payments and sync records (the runs and attempts are in
bench/pages_log.py), and the organisations a run loads, once or kept between runs
(`--keep-database`). What the data holds is described in bench/pages.py's docstring."""

from __future__ import annotations

import contextlib
import importlib
import json
import time
import uuid

from bench.harness import log
from bench.pages_log import _load_attempts, _load_runs, _run

DAYS = 180  # records are dated over the last DAYS days
# Tables whose secondary indexes the loader drops while it fills them (see bulk_mode).
BULK_TABLES = (
    "documents_document",
    "documents_documentline",
    "documents_payment",
    "synclog_syncrecord",
    "synclog_syncrunitem",
    "synclog_syncattempt",
)

# --- the bulk loader ---------------------------------------------------------------------------

# (status code, message, explanation, hint) of failed records; %s in a message is the number.
ERRORS = [
    (
        4000,
        "Category Travel (420) has no Xero mapping.",
        "Category Travel (420) is not mapped to anything in {conn}, so the entry cannot be built.",
        "Choose it in Integrations › {conn} › Mappings, then re-sync.",
    ),
    (
        5130,
        "A validation exception occurred: The Contact 'Northwind Traders' is archived.",
        "The ledger refused the entry: its contact is archived in the ledger.",
        "Restore the contact in the ledger, or choose another contact, then re-sync.",
    ),
    (
        5000,
        "Xero answered HTTP 503 Service Unavailable.",
        "The ledger had a temporary problem and the retries ran out.",
        "Re-sync once the ledger answers again.",
    ),
    (
        5080,
        "The ledger already holds 2 entries with reference ls-{org}-NNN.",
        "The ledger already holds more than one entry for this document, so ledgersync does "
        "not know which one is ours.",
        "Delete or void the extra entries in the ledger, then re-sync; or mark this record "
        "Complete.",
    ),
    (
        5130,
        "A validation exception occurred: Invoice # %s has already been used.",
        "The ledger refused the entry: its number is already used by another entry.",
        "Change the number in the ledger or here, then re-sync.",
    ),
    (
        5120,
        "Could not read the ledger's answer: unexpected end of JSON input.",
        "The ledger's answer could not be understood; the entry may or may not exist.",
        "Re-sync: ledgersync searches the ledger before creating the entry again.",
    ),
]


@contextlib.contextmanager
def bulk_mode(cursor, tables: tuple[str, ...] = ("synclog_syncattempt",)):
    """Load fast: no foreign-key triggers (the loader's rows are consistent by construction;
    `session_replication_role` needs a superuser, as on this bench's server), and the secondary
    indexes of `tables` dropped during the load and built again after it in one pass."""
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("SET maintenance_work_mem = '256MB'")
    _model_defaults_in_the_database(cursor, tables)
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))",
        [list(tables)],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = DEFAULT")
        log(f"  {len(indexes)} indexes built again in {time.perf_counter() - started:.1f}s")


def _model_defaults_in_the_database(cursor, tables: tuple[str, ...]) -> None:
    """Give the columns of `tables` the defaults their Django fields have, in this bench's own
    database: the loader's INSERTs name only the columns it fills, and a field added later
    with a Python default (and no database default) would otherwise fail them as NULL."""
    from django.apps import apps
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            if field.null or field.default is NOT_PROVIDED or field.db_default is not NOT_PROVIDED:
                continue
            value = field.get_db_prep_save(field.get_default(), connection=connection)
            cursor.execute(
                f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}" '
                "SET DEFAULT %s",
                [value],
            )


def load_org(
    *,
    org,
    connection,
    user,
    category,
    documents: int,
    attempts: int,
    hot_documents: int = 0,
    hot_attempts: int = 0,
    invoice_every: int = 7,
    paid_per_10: int = 3,
    complete_pct: int = 90,
    failed_pct: int = 6,
    runs: bool = True,
) -> dict:
    """Fill one organisation in SQL: documents, lines, payments, records, runs, items, attempts.

    Every row derives from its id through a multiplicative hash, so the data is mixed but the same
    on every run. Returns what the pages need (a hot document, the big run, the largest group)."""
    from django.db import connection as db
    from django.utils import timezone

    from documents.models import Contact, ContactKind

    contacts = Contact.objects.bulk_create(
        Contact(
            org=org,
            name=f"{'Customer' if i % 5 == 0 else 'Supplier'} {i:04d} {org.name} Pty Ltd",
            kind=ContactKind.CUSTOMER if i % 5 == 0 else ContactKind.VENDOR,
        )
        for i in range(1, max(50, min(600, documents // 100)) + 1)
    )
    vendors = [c.pk for c in contacts if c.kind == ContactKind.VENDOR]
    customers = [c.pk for c in contacts if c.kind == ContactKind.CUSTOMER]
    p = {
        "org": org.pk,
        "conn": connection.pk,
        "conn_name": connection.name,
        "user": user.pk,
        "cat": category.pk,
        "now": timezone.now(),
        "n": documents,
        "vendors": vendors,
        "customers": customers,
        "inv_every": invoice_every or documents + 1,
        "paid": paid_per_10,
        "complete": complete_pct,
        "failed": complete_pct + failed_pct,
        "minutes": DAYS * 24 * 60,
    }
    hash_of = "mod({0} * 2654435761, 1000003)"  # a well-mixed 0..1000002 from an id
    with db.cursor() as cursor, bulk_mode(cursor, BULK_TABLES):
        _run(
            cursor,
            """
            INSERT INTO documents_document (org_id, kind, number, contact_id, issue_date, due_date,
                currency, total, description, status, amount_paid, approved_at, marked_paid,
                created_at, updated_at, approved_by_id, category_id, created_by_id)
            SELECT %(org)s, x.kind, x.prefix || lpad(i::text, 7, '0'),
                CASE WHEN x.kind = 'invoice'
                     THEN (%(customers)s::bigint[])[1 + mod(i * 31, cardinality(%(customers)s))]
                     ELSE (%(vendors)s::bigint[])[1 + mod(i * 17, cardinality(%(vendors)s))] END,
                x.issue, x.issue + 30, 'USD', x.total, '',
                CASE WHEN x.paid THEN 'paid' ELSE 'approved' END,
                CASE WHEN x.paid THEN x.total ELSE 0 END,
                %(now)s - make_interval(days => x.age), false,
                %(now)s - make_interval(days => x.age), %(now)s - make_interval(days => x.age),
                %(user)s, %(cat)s, %(user)s
            FROM generate_series(1, %(n)s) i
            CROSS JOIN LATERAL (SELECT
                CASE WHEN mod(i, %(inv_every)s) = 0 THEN 'invoice' ELSE 'bill' END AS kind,
                CASE WHEN mod(i, %(inv_every)s) = 0 THEN 'INV-' ELSE 'B-' END AS prefix,
                mod(i * 13, 200) AS age,
                (%(now)s::date - mod(i * 13, 200)) AS issue,
                round(50 + mod(i::bigint * 7919, 500000) / 100.0, 2) AS total,
                mod(i * 7, 10) < %(paid)s AS paid) x
            """,
            p,
            "documents",
        )
        _run(
            cursor,
            """
            INSERT INTO documents_documentline (document_id, position, description, quantity,
                unit_amount, amount, category_id)
            SELECT d.id, pos, 'Services, line ' || (pos + 1), 1,
                round(d.total / (1 + mod(d.id, 3)), 2), round(d.total / (1 + mod(d.id, 3)), 2),
                %(cat)s
            FROM documents_document d CROSS JOIN LATERAL generate_series(0, mod(d.id, 3)::int) pos
            WHERE d.org_id = %(org)s
            """,
            p,
            "document lines",
        )
        _run(
            cursor,
            """
            INSERT INTO documents_payment (org_id, document_id, amount, paid_at, reference,
                bank_account, created_at, created_by_id)
            SELECT %(org)s, d.id, d.total, d.issue_date + 10, 'PMT-' || d.id, 'Operating account',
                d.created_at, %(user)s
            FROM documents_document d WHERE d.org_id = %(org)s AND d.status = 'paid'
            """,
            p,
            "payments",
        )
        errors = [
            (
                code,
                message.replace("{org}", str(org.pk)),
                explanation.replace("{conn}", connection.name),
                hint.replace("{conn}", connection.name),
            )
            for code, message, explanation, hint in ERRORS
        ]
        p.update(
            codes=[e[0] for e in errors],
            messages=[e[1] for e in errors],
            explanations=[e[2] for e in errors],
            hints=[e[3] for e in errors],
        )
        h = hash_of.format("s.key")
        _run(
            cursor,
            f"""
            INSERT INTO synclog_syncrecord (org_id, connection_id, entry_type, document_id,
                payment_id, status, external_id, external_number, synced_amount, synced_at,
                payload_hash, booked, uploaded_attachment_ids, version, pending_reason,
                pending_trigger, unknown_outcome, last_error_code, last_error_message,
                last_error_explanation, last_error_hint, attempt_count, next_retry_at,
                enqueued_at, claimed_by, claimed_until, created_at, updated_at)
            SELECT %(org)s, %(conn)s, s.entry_type, s.document_id, s.payment_id, v.status,
                CASE WHEN v.status = 1 OR v.was_synced THEN md5(s.key::text)::uuid::text
                     ELSE '' END,
                CASE WHEN v.status = 1 OR v.was_synced THEN s.number ELSE '' END,
                CASE WHEN v.status = 1 OR v.was_synced
                     THEN s.amount + CASE WHEN mod({h}, 50) = 0 THEN 1 ELSE 0 END END,
                CASE WHEN v.status = 1 THEN v.at
                     WHEN v.was_synced THEN v.at - interval '3 days' END,
                CASE WHEN v.status = 1 OR v.was_synced THEN md5(s.key::text || 'p') ELSE '' END,
                false, '[]', 1 + mod({h}, 3),
                CASE WHEN v.status = 0 THEN 'Document changed' ELSE '' END, 'auto', false,
                CASE WHEN v.status = 2 THEN (%(codes)s::int[])[v.e] END,
                CASE WHEN v.status = 2 THEN replace((%(messages)s::text[])[v.e], '%%s', s.number)
                     ELSE '' END,
                CASE WHEN v.status = 2 THEN (%(explanations)s::text[])[v.e] ELSE '' END,
                CASE WHEN v.status = 2 THEN (%(hints)s::text[])[v.e] ELSE '' END,
                CASE WHEN v.status = 2 THEN 1 + mod({h}, 5) ELSE 0 END,
                NULL, CASE WHEN v.status = 0 THEN v.at END, '', NULL,
                v.at - interval '1 hour', v.at + interval '2 seconds'
            FROM (
                SELECT d.id AS key, d.kind AS entry_type, d.id AS document_id,
                    NULL::bigint AS payment_id, d.number, d.total AS amount
                FROM documents_document d WHERE d.org_id = %(org)s
                UNION ALL
                SELECT 1000000000 + y.id, d.kind || '_payment', d.id, y.id, y.reference, y.amount
                FROM documents_payment y JOIN documents_document d ON d.id = y.document_id
                WHERE y.org_id = %(org)s
            ) s
            CROSS JOIN LATERAL (SELECT
                CASE WHEN mod({h}, 100) < %(complete)s THEN 1
                     WHEN mod({h}, 100) < %(failed)s THEN 2 ELSE 0 END AS status,
                1 + mod({h} / 100, cardinality(%(codes)s)) AS e,
                mod({h}, 3) = 0 AS was_synced,
                CASE WHEN mod({h}, 100) >= %(failed)s
                     THEN %(now)s - make_interval(mins => (mod({h}, 120) + 1)::int)
                     ELSE %(now)s - make_interval(mins => (mod({h} * 7, %(minutes)s) + 1)::int)
                END AS at
            ) v
            """,
            p,
            "sync records",
        )
        out = {}
        if runs:
            out.update(_load_runs(cursor, p, documents))
        out.update(_load_attempts(cursor, p, attempts, hot_documents, hot_attempts))
    return out


def make_org(name: str, *, connection_name: str):
    """An organisation with an admin (who may export), a category and a Xero connection. The
    connection is a plain row: no ledger is called here."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Organization, Role
    from documents.models import Category
    from integrations.models import Connection, Provider

    slug = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    org = Organization.objects.create(name=name, slug=slug, currency="USD")
    user = get_user_model().objects.create_user(username=f"admin-{slug}", password=uuid.uuid4().hex)
    Membership.objects.create(user=user, org=org, role=Role.ADMIN, can_export=True)
    category = Category.objects.create(org=org, name="Office", code="429")
    connection = Connection.objects.create(
        org=org,
        provider=Provider.XERO,
        name=connection_name,
        tenant_id=str(uuid.uuid4()),
        tenant_name=f"{name} (Xero)",
        settings={"payment_account_code": "090"},
    )
    return org, user, category, connection


def refill_unpushed_documents() -> None:
    """The loader writes with the triggers off (bulk_mode): the documents not pushed (the set that
    migration 0018's triggers keep), found the way that migration found them at first."""
    from django.db import connection as db

    migration = importlib.import_module("synclog.migrations.0018_unpushed_documents")
    started = time.perf_counter()
    with db.cursor() as cursor:
        cursor.execute(migration.CONNECTION_PAIRS.format(connections=migration.collecting("c")))
        log(f"  not pushed: {cursor.rowcount:,} pairs in {time.perf_counter() - started:.1f}s")


def approve_unpushed_documents(org, count: int) -> int:
    """`count` approved bills of `org` with no record yet, written with the triggers on, as an
    approval writes them (newer documents numbered NP-…, copies of its first bill), so that the
    Not pushed filter and the connection page's count find some among all the others. Added
    once: a kept load gets only what it lacks. Returns how many the organisation has."""
    from django.utils import timezone

    from documents.models import Document, DocumentKind, DocumentStatus

    documents = Document.objects.for_org(org)
    have = documents.filter(number__startswith="NP-").count()
    template = documents.filter(kind=DocumentKind.BILL).order_by("pk").first()
    now = timezone.now()
    fields = {
        field.attname: getattr(template, field.attname)
        for field in Document._meta.concrete_fields
        if not field.primary_key
    }
    fields.update(status=DocumentStatus.APPROVED, amount_paid=0, marked_paid=False, approved_at=now)
    copies = [Document(**{**fields, "number": f"NP-{n:07d}"}) for n in range(have + 1, count + 1)]
    Document.objects.bulk_create(copies, batch_size=1000)
    return max(have, count)


def analyze() -> None:
    from django.db import connection as db

    started = time.perf_counter()
    with db.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    log(f"  analyze: {time.perf_counter() - started:.1f}s")


# --- the organisations of a run, loaded or kept ---------------------------------------------


def _load_spec(args) -> dict:
    keys = ("documents", "attempts", "export_rows", "hot_documents", "hot_attempts", "export")
    return {key: getattr(args, key) for key in keys}


def kept_load(args):
    """The organisations a kept database was loaded with, if it holds a load of these sizes."""
    from django.contrib.auth import get_user_model
    from django.db import connection as db

    from accounts.models import Organization

    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_pages_load (spec jsonb, loaded jsonb)")
        cursor.execute("SELECT spec, loaded FROM bench_pages_load")
        rows = cursor.fetchall()
    if not rows:
        return None
    spec, loaded = (json.loads(v) if isinstance(v, str) else v for v in rows[0])
    wanted = _load_spec(args)
    # A load with the export organisation serves a run without the export too.
    if {**spec, "export": wanted["export"] and spec["export"]} != wanted:
        raise SystemExit(
            f"{args.keep_database} holds a load of {spec}, not {_load_spec(args)}: drop it "
            "(DROP DATABASE) or name another"
        )
    users = get_user_model().objects
    org, user = Organization.objects.get(pk=loaded["org"]), users.get(pk=loaded["user"])
    e_org = e_user = None
    if loaded.get("e_org"):
        e_org, e_user = Organization.objects.get(pk=loaded["e_org"]), users.get(pk=loaded["e_user"])
    return org, user, loaded["info"], e_org, e_user


def remember_load(args, org, user, info, e_org, e_user) -> None:
    from django.db import connection as db

    loaded = {
        "org": org.pk,
        "user": user.pk,
        "info": info,
        "e_org": e_org.pk if e_org else None,
        "e_user": e_user.pk if e_user else None,
    }
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_pages_load (spec jsonb, loaded jsonb)")
        cursor.execute(
            "INSERT INTO bench_pages_load VALUES (%s, %s)",
            [json.dumps(_load_spec(args)), json.dumps(loaded)],
        )


def load(args):
    """The three organisations: the measured one, its neighbour (a fifth), the export's."""
    load_started = time.monotonic()
    log(f"loading {args.documents:,} documents and {args.attempts:,} attempts")
    org, user, category, connection = make_org("Pages", connection_name="Xero Demo")
    info = load_org(
        org=org,
        connection=connection,
        user=user,
        category=category,
        documents=args.documents,
        attempts=args.attempts,
        hot_documents=args.hot_documents,
        hot_attempts=args.hot_attempts,
    )
    log("loading the neighbour organisation (a fifth of the size)")
    n_org, n_user, n_category, n_connection = make_org("Neighbour", connection_name="Xero N")
    load_org(
        org=n_org,
        connection=n_connection,
        user=n_user,
        category=n_category,
        documents=max(1, args.documents // 5),
        attempts=args.attempts // 5,
        hot_documents=2,
        hot_attempts=args.hot_attempts,
    )
    e_org = e_user = None
    if args.export:
        log(f"loading the export organisation ({args.export_rows:,} Complete bills)")
        e_org, e_user, e_category, e_connection = make_org("Export", connection_name="Xero E")
        load_org(
            org=e_org,
            connection=e_connection,
            user=e_user,
            category=e_category,
            documents=args.export_rows,
            attempts=0,
            invoice_every=0,
            paid_per_10=0,
            complete_pct=100,
            failed_pct=0,
            runs=False,
        )
    refill_unpushed_documents()
    fold_started = time.perf_counter()
    from synclog.services import attention_summary

    # The loader's rows were written with the triggers off: their Failed groups, counted now.
    for loaded in (org, n_org, e_org):
        if loaded is not None:
            attention_summary.attention_changes_from_records(org_id=loaded.pk)
    folded = attention_summary.attention_fold_all()
    log(
        f"  attention counts: {folded:,} changes folded "
        f"in {time.perf_counter() - fold_started:.1f}s"
    )
    analyze()
    log(f"loaded in {time.monotonic() - load_started:.0f}s; hot document {info}")
    return org, user, info, e_org, e_user
