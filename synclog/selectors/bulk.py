"""Reads for bulk re-sync: what a selection of documents holds, and how its runs are going.

Every function takes the organisation and scopes each query by it; each runs a fixed number of
queries whatever the number of documents or runs involved.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, QueryDict

from accounts.models import Organization
from documents.models import Document, DocumentStatus
from documents.selectors import document_filterset
from integrations.models import Connection
from synclog.models import RunItemOutcome, SyncRecord, SyncRun, SyncRunItem, Trigger
from synclog.rules import COLLECTING_STATUSES, SYNCABLE_DOCUMENTS
from synclog.selectors.eta import Eta, run_eta

# The progress page lists the first failures; the rest are one click away in Requires attention.
FAILED_PREVIEW_SIZE = 20


class SelectionError(Exception):
    """The selection cannot be resolved (the filter it names is not valid)."""


def bulk_selection_documents(
    *,
    org: Organization,
    document_ids: list[int] | None = None,
    filter_query: str | None = None,
) -> QuerySet[Document]:
    """The documents a bulk action applies to: the ids picked on the page (another
    organisation's ids are simply not found), or every document matching the list's filter,
    re-applied here with the list's own FilterSet."""
    if filter_query is not None:
        filterset = document_filterset(org=org, filters=QueryDict(filter_query))
        if not filterset.is_valid():
            raise SelectionError("The list's filter is no longer valid; filter the list again.")
        return filterset.qs
    return Document.objects.for_org(org).filter(pk__in=document_ids or [])


@dataclass
class SelectionSummary:
    """What a bulk re-sync of the chosen documents would do: how many sync, how many are
    skipped and why, and the connections they go to."""

    total: int
    syncable_ids: list[int]
    drafts: int  # drafts and documents awaiting approval never sync
    connections: list[Connection]
    # Of syncable_ids, those no target connection has a record of: pushed for the first time,
    # not "again".
    first_pushes: int = 0
    # A Requires-attention group's selection, or a connection's documents not pushed yet, goes
    # to that connection alone.
    target_connection: Connection | None = None

    @property
    def skipped(self) -> int:
        return self.total - len(self.syncable_ids)


def bulk_selection_summary(
    *, documents: QuerySet[Document], org: Organization, connection: Connection | None = None
) -> SelectionSummary:
    """What a bulk re-sync of these documents would push, skip, and to which ledgers (3
    queries); to `connection` alone when it is given (a Requires-attention group's, or the one
    whose documents are not pushed yet)."""
    connections = Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES)
    if connection is not None:
        connections = connections.filter(pk=connection.pk)
    in_a_target_ledger = Exists(
        SyncRecord.objects.for_org(org).filter(
            document_id=OuterRef("pk"), connection__in=connections
        )
    )
    counts = documents.aggregate(
        total=Count("id"),
        drafts=Count(
            "id",
            filter=Q(status__in=[DocumentStatus.DRAFT, DocumentStatus.AWAITING_APPROVAL]),
        ),
        first_pushes=Count("id", filter=SYNCABLE_DOCUMENTS & ~Q(in_a_target_ledger)),
    )
    syncable_ids = list(documents.filter(SYNCABLE_DOCUMENTS).values_list("pk", flat=True))
    return SelectionSummary(
        total=counts["total"],
        syncable_ids=syncable_ids,
        drafts=counts["drafts"],
        connections=list(connections),
        first_pushes=counts["first_pushes"],
        target_connection=connection,
    )


@dataclass
class RunProgress:
    """One run of a bulk re-sync, counted by item outcome for the progress page."""

    run: SyncRun
    pushed: int = 0
    nothing_to_push: int = 0
    failed: int = 0
    pending: int = 0
    eta: Eta | None = None  # while it runs: when it will be done

    @property
    def total(self) -> int:
        return self.pushed + self.nothing_to_push + self.failed + self.pending

    @property
    def done(self) -> int:
        return self.total - self.pending

    @property
    def finished(self) -> bool:
        return self.run.finished_at is not None

    @property
    def preparing(self) -> bool:
        return self.run.preparing


@dataclass
class BulkProgress:
    """Every run of one bulk re-sync and the failed items to show, for the progress page."""

    runs: list[RunProgress]
    failed_items: list[SyncRunItem]

    @property
    def finished(self) -> bool:
        return all(progress.finished for progress in self.runs)

    @property
    def preparing(self) -> bool:
        return any(progress.preparing for progress in self.runs)

    @property
    def selected(self) -> int:
        """Documents chosen, while a worker still prepares the runs."""
        return max((len(progress.run.selection or ()) for progress in self.runs), default=0)

    @property
    def is_retry(self) -> bool:
        return all(progress.run.trigger == Trigger.RETRY for progress in self.runs)

    @property
    def total(self) -> int:
        return sum(progress.total for progress in self.runs)

    @property
    def done(self) -> int:
        return sum(progress.done for progress in self.runs)

    @property
    def failed(self) -> int:
        return sum(progress.failed for progress in self.runs)

    @property
    def more_failed(self) -> int:
        return self.failed - len(self.failed_items)


def bulk_progress(*, org: Organization, public_ids: list[UUID]) -> BulkProgress:
    """The runs of one bulk re-sync with their items' outcomes, the first failures (3 queries)
    and the ETA of each run still going (a query each).

    A run id that is not this organisation's is a 404, like a missing one.
    """
    wanted = list(dict.fromkeys(public_ids))
    runs = list(
        SyncRun.objects.for_org(org)
        .filter(public_id__in=wanted)
        .select_related("connection", "actor")
        .order_by("connection__name", "id")
    )
    if len(runs) != len(wanted):
        raise Http404("No such sync.")
    progress = {run.pk: RunProgress(run=run) for run in runs}
    outcomes = (
        SyncRunItem.objects.filter(run__in=runs)
        .values_list("run_id", "outcome")
        .annotate(n=Count("id"))
        .values_list("run_id", "outcome", "n")
    )
    for run_id, outcome, n in outcomes:
        setattr(progress[run_id], outcome, n)
    for item in progress.values():
        if not item.finished:
            item.eta = run_eta(run=item.run)
    failed_items = list(
        SyncRunItem.objects.filter(run__in=runs, outcome=RunItemOutcome.FAILED)
        .select_related("run__connection", "record", "record__document", "record__payment")
        .order_by("record__document__number", "id")[:FAILED_PREVIEW_SIZE]
    )
    return BulkProgress(runs=list(progress.values()), failed_items=failed_items)
