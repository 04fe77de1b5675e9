"""Small compositions of the domain services for the API (the writes themselves stay in
documents.services and synclog.services), and expense datasets.

Expense datasets: a partner system pushes a batch of expense transactions in one call.

Each transaction becomes an approved expense document (documents_create_approved: the checks
of create, submit and approve, in bulk), in one transaction for the whole batch (all or
nothing; every item's errors are reported at once, keyed `items.<n>.<field>`). A staged dataset
(the default, Codat's model) is held until `POST /syncs` names it, and that sync pushes its
items on the batched path; an organisation set to sync on push has each item pushed as it
arrives, and `POST /syncs` pushes them again in a sync the partner can follow (an entry pushed
already is updated or left as it is, never doubled). Datasets may be pushed while a sync runs:
they wait for the next one.
"""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from accounts.models import ApiKey, DatasetSync, Organization
from api.models import ExpenseDataset, ExpenseDatasetItem
from documents import services as document_services
from documents.models import Contact, ContactKind, Document, DocumentKind, DocumentStatus
from integrations.models import Connection
from synclog import services as sync_services
from synclog.models import SyncRecord, SyncRun, Trigger
from synclog.rules import SYNCABLE_STATUSES


@transaction.atomic
def document_create_for_api(
    *, org: Organization, submit: bool, actor_label: str = "", **fields
) -> Document:
    """Create a document, in the name of the API key (`actor_label`); with `submit`, send it
    for approval in the same transaction."""
    document = document_services.document_create(
        org=org, actor=None, actor_label=actor_label, **fields
    )
    if submit:
        document = document_services.document_submit(document=document, actor=None)
    return document


@transaction.atomic
def document_approve_for_api(*, document: Document, actor_label: str) -> Document:
    """Approve a document; a draft is submitted first (a partner system approves in its own
    workflow, so the two steps are one call here). Approval starts its sync, logged as the
    key's (`actor_label`)."""
    if document.status == DocumentStatus.DRAFT:
        document = document_services.document_submit(document=document, actor=None)
    return document_services.document_approve(
        document=document, actor=None, actor_label=actor_label
    )


def _label(run: SyncRun, actor_label: str) -> SyncRun:
    # retry_failed and force_sync take no actor label: name the API key on the run here.
    if actor_label and run.actor_label != actor_label:
        SyncRun.objects.filter(pk=run.pk).update(actor_label=actor_label)
        run.actor_label = actor_label
    return run


def _check_sync_ids(
    *, org: Organization, document_ids: list[int], dataset_ids: list[uuid.UUID]
) -> list[ExpenseDataset]:
    """Every id must be the organisation's, and every document syncable; errors name the
    position of each bad id (`document_ids.3`)."""
    errors: dict[str, list[str]] = {}
    documents = {
        document.pk: document
        for document in Document.objects.for_org(org)
        .filter(pk__in=document_ids)
        .only("id", "status", "kind")
    }
    for index, pk in enumerate(document_ids):
        document = documents.get(pk)
        if document is None:
            errors[f"document_ids.{index}"] = [f"No document with id {pk}."]
        elif document.status not in SYNCABLE_STATUSES:
            errors[f"document_ids.{index}"] = [
                f"Document {pk} is {document.get_status_display().lower()}: only approved, "
                "paid or void documents sync."
            ]
    datasets = {
        dataset.public_id: dataset
        for dataset in ExpenseDataset.objects.for_org(org).filter(public_id__in=dataset_ids)
    }
    for index, public_id in enumerate(dataset_ids):
        if public_id not in datasets:
            errors[f"dataset_ids.{index}"] = [f"No expense dataset with id {public_id}."]
    if errors:
        raise ValidationError(errors)
    return list(datasets.values())


@transaction.atomic
def _sync_document_ids(document_ids: list[int], datasets: list[ExpenseDataset]) -> list[int]:
    ids = set(document_ids)
    for dataset in datasets:
        ids.update(dataset.items.values_list("document_id", flat=True))
    return sorted(ids)


def sync_documents_checked(
    *, org: Organization, document_ids: list[int], dataset_ids: list[uuid.UUID]
) -> list[int]:
    """The documents a `POST /syncs` with this body would push, checked as it checks them
    (raises ValidationError naming each bad id): what `POST /syncs/preview` previews."""
    datasets = _check_sync_ids(org=org, document_ids=document_ids, dataset_ids=dataset_ids)
    return _sync_document_ids(document_ids, datasets)


def sync_start(
    *,
    org: Organization,
    document_ids: list[int],
    dataset_ids: list[uuid.UUID],
    actor_label: str,
) -> list[SyncRun]:
    """POST /syncs: push these documents (and the datasets' documents) again, one run per
    active connection (DESIGN §4.4: every existing entry updated, missing ones created)."""
    datasets = _check_sync_ids(org=org, document_ids=document_ids, dataset_ids=dataset_ids)
    runs = sync_services.bulk_resync(
        org=org,
        document_ids=_sync_document_ids(document_ids, datasets),
        actor=None,
        trigger=Trigger.API,
        actor_label=actor_label,
    )
    if not runs:
        raise ValidationError(
            "The organisation has no active connection to an accounting system: connect one "
            "in Integrations first."
        )
    ExpenseDataset.objects.filter(pk__in=[d.pk for d in datasets]).update(
        status=ExpenseDataset.Status.SYNC_REQUESTED
    )
    return runs


def sync_retry_failed(*, run: SyncRun, actor_label: str) -> SyncRun:
    """A run of the still-Failed items of `run` for a partner system (its key named as the
    actor); ValidationError when none is left to retry."""
    with transaction.atomic():
        return _label(sync_services.retry_failed(run=run, actor=None), actor_label)


def connection_force_sync(
    *, org: Organization, connection: Connection, actor_label: str
) -> SyncRun:
    """Force sync of the connection for a partner system (its key named as the actor): a run
    of every document to push, as the page's Force sync makes."""
    with transaction.atomic():
        return _label(
            sync_services.force_sync(org=org, connection=connection, actor=None), actor_label
        )


def sync_record_ids_check(*, org: Organization, record_ids: list[int]) -> None:
    """Every id must be one of the organisation's records (another's reads as missing)."""
    known = set(
        SyncRecord.objects.for_org(org).filter(pk__in=record_ids).values_list("pk", flat=True)
    )
    errors = {
        f"ids.{index}": [f"No sync record with id {pk}."]
        for index, pk in enumerate(record_ids)
        if pk not in known
    }
    if errors:
        raise ValidationError(errors)


# --- expense datasets -----------------------------------------------------------------------------

CENT = Decimal("0.01")
# A document service's field → the dataset item's field it came from.
ITEM_FIELD_FOR = {
    "due_date": "issue_date",
    "description": "notes",
    "total": "lines",
}


def _line_total(lines: list[dict]) -> Decimal:
    return sum(
        (
            (line.get("quantity", Decimal("1")) * line["unit_amount"]).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            for line in lines
        ),
        Decimal("0.00"),
    )


def _check_transaction_ids(org: Organization, items: list[dict], errors: dict) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first = seen.setdefault(item["id"], index)
        if first != index:
            errors.setdefault(f"items.{index}.id", []).append(
                f"Transaction {item['id']} appears twice in this dataset (also items.{first})."
            )
    pushed = dict(
        ExpenseDatasetItem.objects.for_org(org)
        .filter(transaction_id__in=list(seen))
        .values_list("transaction_id", "document_id")
    )
    for index, item in enumerate(items):
        if item["id"] in pushed:
            errors.setdefault(f"items.{index}.id", []).append(
                f"Transaction {item['id']} was pushed already (document {pushed[item['id']]}). "
                "To change it, update that document (PATCH /documents/{id}); to push it again, "
                "retry its sync."
            )


def _vendors_by_name(org: Organization, items: list[dict]) -> dict[str, Contact]:
    """The vendor of each merchant name without a contact id: found by name, else created
    (all in two queries, however many names)."""
    names = {item["merchant_name"].strip() for item in items if not item.get("contact")}
    names.discard("")
    if not names:
        return {}
    vendors: dict[str, Contact] = {}
    lowered = {name.lower() for name in names}
    found = (
        Contact.objects.for_org(org)
        .filter(kind=ContactKind.VENDOR)
        .annotate(lowered_name=Lower("name"))
        .filter(lowered_name__in=lowered)
        .order_by("id")
    )
    for contact in found:
        vendors.setdefault(contact.name.lower(), contact)
    new = {}
    for name in sorted(names):
        if name.lower() not in vendors:
            new.setdefault(name.lower(), Contact(org=org, name=name, kind=ContactKind.VENDOR))
    Contact.objects.bulk_create(new.values())
    return {**vendors, **new}


def _item_errors(index: int, item: dict, error: ValidationError) -> dict[str, list[str]]:
    prefix = f"items.{index}"
    if not hasattr(error, "error_dict"):
        return {prefix: list(error.messages)}
    mapped: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        if key == "number":
            field = "reference" if item.get("reference") else "id"
        elif key == "__all__":
            field = ""
        else:
            field = ITEM_FIELD_FOR.get(key, key)
        path = f"{prefix}.{field}" if field else prefix
        mapped.setdefault(path, []).extend(messages)
    return mapped


@transaction.atomic
def expense_dataset_create(
    *, org: Organization, api_key: ApiKey | None, items: list[dict], actor_label: str = ""
) -> ExpenseDataset:
    """Create the dataset and one approved expense document per item; all or nothing, in a
    fixed number of queries. A staged dataset (the default) is held until a sync names it;
    an organisation that syncs on push has each item pushed as it arrives."""
    errors: dict[str, list[str]] = {}
    _check_transaction_ids(org, items, errors)
    if errors:
        raise ValidationError(errors)
    staged = org.dataset_sync == DatasetSync.STAGED
    vendors = _vendors_by_name(org, items)
    fields = []
    for item in items:
        lines = [
            {**line, "category": line.get("category") or item.get("category")}
            for line in item["lines"]
        ]
        fields.append(
            {
                "number": item.get("reference") or item["id"],
                "contact": item.get("contact")
                or vendors.get(item["merchant_name"].strip().lower()),
                "issue_date": item["issue_date"],
                "due_date": item["issue_date"],
                "currency": item["currency"],
                "expense_type": item.get("type", ""),
                "exchange_rate": item.get("currency_rate"),
                "total": _line_total(lines),
                "lines": lines,
                "category": item.get("category"),
                "department": item.get("department"),
                "description": item.get("notes", ""),
            }
        )
    created, failed = document_services.documents_create_approved(
        org=org,
        actor=None,
        kind=DocumentKind.EXPENSE,
        items=fields,
        sync=not staged,
        actor_label=actor_label,
    )
    for index, error in sorted(failed.items()):
        for path, messages in _item_errors(index, items[index], error).items():
            errors.setdefault(path, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    documents = [
        (index, item["id"], doc)
        for index, (item, doc) in enumerate(zip(items, created, strict=True))
    ]
    status = ExpenseDataset.Status.STAGED if staged else ExpenseDataset.Status.ACCEPTED
    dataset = ExpenseDataset.objects.create(
        org=org, created_by_key=api_key, item_count=len(documents), status=status
    )
    try:
        with transaction.atomic():
            ExpenseDatasetItem.objects.bulk_create(
                ExpenseDatasetItem(
                    org=org,
                    dataset=dataset,
                    position=index,
                    transaction_id=transaction_id,
                    document=document,
                )
                for index, transaction_id, document in documents
            )
    except IntegrityError:
        # Another request pushed one of these ids between our check and now: all of this
        # dataset is undone (the caller's transaction), nothing is pushed twice.
        raise ValidationError(
            {"items": ["Another request pushed some of these transaction ids just now; retry."]}
        ) from None
    return dataset
