"""A document's sync status on the Documents list: one word for all its ledger entries.

A document has a record per connection and entry (the bill, each payment). Its status is the
worst of them, in the order a person has to act on it:

    Failed > Drifted > Not pushed > Pending > In the ledger

- Failed: an entry failed (other than the ones below).
- Drifted: an entry changed in the ledger behind our back: edited, voided, deleted or paid there
  (SyncRecord.ledger_drifted; found by a push or by the reconcile).
- Not pushed: approved, paid or void, but with no record on a connection it is pushed to
  (active, or waiting for a reconnect): nothing will push it until someone does (Force sync).
  Read from the set the database maintains (synclog.models.unpushed).
- Pending: on its way.
- In the ledger: every entry Complete.

Only records on those connections count: a disabled or disconnected ledger's history is kept but
is not where the document is meant to be. Each column test is an EXISTS on the record's
(document, connection, status) index, so the column costs no query per row; the filter on
Failed, Drifted, Not pushed or Pending reads those few rows once instead
(DocumentSyncStates.filter_tests).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from accounts.models import Organization
from documents.models import Document
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    LEDGER_DRIFT_MESSAGE,
    RecordStatus,
    SyncRecord,
    UnpushedDocument,
)
from synclog.rules import COLLECTING_STATUSES
from syncsvc.database import EqualsAny


class DocumentSyncState(models.TextChoices):
    """A document's sync status on the documents list, worst first (SYNC_STATE_LEGEND)."""

    FAILED = "failed", "Failed"
    DRIFTED = "drifted", "Drifted"
    NOT_PUSHED = "not_pushed", "Not pushed"
    PENDING = "pending", "Pending"
    IN_LEDGER = "in_ledger", "In the ledger"


SYNC_STATE_LEGEND = (
    "The worst of the document's ledger entries (its bill and payments, on every connected "
    "ledger): Failed, then Drifted (changed, voided, deleted or paid in the ledger behind our "
    "back), then Not pushed (approved, paid or void but not in a connected ledger), then "
    "Pending, then In the ledger."
)

NEVER = Q(pk__in=[])


@dataclass(frozen=True)
class DocumentSyncStates:
    """Each status's own test, worst first: a document has the first status whose test holds."""

    tests: dict[str, Q]
    # The same tests for a filter over every document, where few documents can pass them
    # (Failed, Drifted, Not pushed, Pending): one uncorrelated subquery each, which PostgreSQL
    # hashes once, instead of an EXISTS probed for each document of the organisation (the
    # Drifted filter took 1.4 s over 20,000 documents that way, 44 ms this way). The column
    # keeps the EXISTS: for a page's rows, a probe per row reads less than every Failed record.
    # (Not pushed's is made when asked for: it reads how many there are first.)
    filter_tests: dict[str, Q | Callable[[], Q]] = field(default_factory=dict)
    # One connection: a document with a record on it is on every connection, so the statuses
    # whose test needs a record (Pending, In the ledger) cannot be Not pushed, and their filters
    # leave that test out: an EXISTS probed for every document of the organisation before the
    # few with a Pending record were picked (1.8 s at 1,000,000 documents).
    one_connection: bool = False

    def condition(self, state: str) -> Q:
        """The documents whose status is `state`: its test holds and no worse one does.

        Its own test in the filter's form (the few documents with such a record, hashed once);
        the worse ones as each document's EXISTS probes, by document on the records' indexes,
        made only for the documents the first test lets through, and never a read of every
        Failed or Pending record to leave a few documents out."""
        worse = list(self.tests)[: list(self.tests).index(state)]
        if self.one_connection:
            worse = [other for other in worse if other != DocumentSyncState.NOT_PUSHED]
        own = self.filter_tests.get(state, self.tests[state])
        return Q(own() if callable(own) else own, *(~self.tests[other] for other in worse))

    def expression(self) -> Case:
        """The status as a column (empty for a draft, or where nothing is connected)."""
        return Case(
            *(When(test, then=Value(state)) for state, test in self.tests.items()),
            default=Value(""),
            output_field=models.CharField(),
        )


def document_sync_states(*, org: Organization) -> DocumentSyncStates:
    """The statuses of the documents of `org` (one query, for its connections)."""
    connection_ids = list(
        Connection.objects.for_org(org)
        .filter(status__in=COLLECTING_STATUSES)
        .values_list("pk", flat=True)
    )
    if not connection_ids:
        # Nowhere to push to: no document has a sync status.
        return DocumentSyncStates({state: NEVER for state in DocumentSyncState.values})

    def has(**conditions) -> Q:
        records = SyncRecord.objects.filter(
            document=OuterRef("pk"), connection__in=connection_ids, **conditions
        )
        return Q(Exists(records))

    # The message test that splits the Failed records by kind: written as their two indexes'
    # conditions are (syncrecord_failed_idx, syncrecord_drifted_idx), so that each test reads
    # its index alone, not the records' messages.
    drifted = LEDGER_DRIFT_MESSAGE
    failed = SyncRecord.objects.filter(
        document=OuterRef("pk"), connection__in=connection_ids, status=RecordStatus.FAILED
    )
    # Not pushed is the maintained set (synclog.models.unpushed), not an anti-join with the
    # records: that read every document of the organisation (531 ms at 1,000,000).
    unpushed = UnpushedDocument.objects.filter(org_id=org.pk, connection_id__in=connection_ids)
    # Worst first: a document has the first status whose test it passes.
    tests = {
        DocumentSyncState.FAILED: Q(Exists(failed.exclude(drifted))),
        DocumentSyncState.DRIFTED: Q(Exists(failed.filter(drifted))),
        DocumentSyncState.NOT_PUSHED: Q(Exists(unpushed.filter(document_id=OuterRef("pk")))),
        DocumentSyncState.PENDING: has(status=RecordStatus.PENDING),
        DocumentSyncState.IN_LEDGER: has(status=RecordStatus.COMPLETE),
    }
    records = SyncRecord.objects.filter(connection__in=connection_ids)
    failed_records = records.filter(status=RecordStatus.FAILED)

    def among(queryset) -> Q:
        return Q(pk__in=queryset.values("document_id"))

    filter_tests = {
        DocumentSyncState.FAILED: among(failed_records.exclude(drifted)),
        DocumentSyncState.DRIFTED: among(failed_records.filter(drifted)),
        DocumentSyncState.NOT_PUSHED: lambda: unpushed_among(unpushed),
        DocumentSyncState.PENDING: among(records.filter(status=RecordStatus.PENDING)),
    }
    return DocumentSyncStates(tests, filter_tests, one_connection=len(connection_ids) == 1)


# Up to this many documents not pushed, their filter probes the documents' key for each of them;
# more (a ledger connected to an organisation with a long history), it joins the two.
UNPUSHED_PROBE_LIMIT = 10_000


def unpushed_among(unpushed: QuerySet[UnpushedDocument]) -> Q:
    """The documents of these pairs, as a filter that reads only them while they are few: as a
    join, PostgreSQL walks the documents' key from the newest down to the oldest of them,
    supposing them spread evenly (34 ms for 1,000 new ones at 1,000,000 documents, behind
    another organisation's 200,000; 3 ms probed). Many of them (most documents, on a new
    connection) make the join the quick one: the first page is found at once."""
    if unpushed[: UNPUSHED_PROBE_LIMIT + 1].count() > UNPUSHED_PROBE_LIMIT:
        return Q(pk__in=unpushed.values("document_id"))
    return Q(EqualsAny(F("pk"), unpushed.values("document_id")))


def connection_unpushed_documents(*, connection: Connection) -> QuerySet[Document]:
    """After connecting: the organisation's approved, paid or void documents with no record on
    this connection, i.e. never pushed to its ledger, and nothing will push them by itself (what
    the prompt's "Preview them" selects, to push to this connection alone). One whose push
    failed has a record: it is in Requires attention with its cause, not counted here. None
    for a connection that is not active: there is nothing to push them to now."""
    if connection.status != ConnectionStatus.ACTIVE:
        return Document.objects.none()
    return Document.objects.for_org(connection.org).filter(
        unpushed_among(_connection_unpushed(connection))
    )


def connection_unpushed_document_count(*, connection: Connection) -> int:
    """How many documents connection_unpushed_documents holds (its pairs alone are counted)."""
    if connection.status != ConnectionStatus.ACTIVE:
        return 0
    return _connection_unpushed(connection).count()


def _connection_unpushed(connection: Connection) -> QuerySet[UnpushedDocument]:
    return UnpushedDocument.objects.filter(connection_id=connection.pk, org_id=connection.org_id)
