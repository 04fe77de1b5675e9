"""Small compositions of the domain services for the API (the writes themselves stay in
documents.services and synclog.services)."""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Organization
from api.models import ExpenseDataset
from documents import services as document_services
from documents.models import Document, DocumentStatus
from integrations.models import Connection
from synclog import services as sync_services
from synclog.models import SyncRecord, SyncRun, Trigger
from synclog.services import SYNCABLE_STATUSES


@transaction.atomic
def document_create_for_api(*, org: Organization, submit: bool, **fields) -> Document:
    """Create a document; with `submit`, send it for approval in the same transaction."""
    document = document_services.document_create(org=org, actor=None, **fields)
    if submit:
        document = document_services.document_submit(document=document, actor=None)
    return document


@transaction.atomic
def document_approve_for_api(*, document: Document) -> Document:
    """Approve a document; a draft is submitted first (a partner system approves in its own
    workflow, so the two steps are one call here). Approval starts its sync."""
    if document.status == DocumentStatus.DRAFT:
        document = document_services.document_submit(document=document, actor=None)
    return document_services.document_approve(document=document, actor=None)


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
    ids = set(document_ids)
    for dataset in datasets:
        ids.update(dataset.items.values_list("document_id", flat=True))
    runs = sync_services.bulk_resync(
        org=org,
        document_ids=sorted(ids),
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
    with transaction.atomic():
        return _label(sync_services.retry_failed(run=run, actor=None), actor_label)


def connection_force_sync(
    *, org: Organization, connection: Connection, actor_label: str
) -> SyncRun:
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
