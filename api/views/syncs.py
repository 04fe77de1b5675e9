"""Syncs: start one (202), list, read, its transactions, retry its failed items; sync records
with the history page's filters and Update Sync Status; connections and force sync."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import status
from rest_framework.response import Response

from api import selectors
from api import services as api_services
from api.exceptions import ApplicationError
from api.filters import SyncFilter, TransactionFilter
from api.idempotency import idempotent
from api.pagination import ApiCursorPagination
from api.schema import ErrorSerializer, api_schema
from api.serializers.syncs import (
    ConnectionSerializer,
    LedgerCheckSerializer,
    SyncPreviewSerializer,
    SyncRecordSerializer,
    SyncRecordStatusUpdatedSerializer,
    SyncRecordStatusUpdateSerializer,
    SyncSerializer,
    SyncStartedSerializer,
    SyncStartSerializer,
    TransactionSerializer,
)
from api.views.base import ApiListView, ApiView
from integrations.models import Connection
from integrations.selectors import connection_get, connection_list
from synclog import services as sync_services
from synclog.filters import STATUS_BY_NAME, SyncRecordFilter
from synclog.models import SyncRecord, SyncRun, SyncRunItem
from synclog.selectors.health import sync_run_get, sync_run_item_attempts
from synclog.selectors.preview import bulk_resync_preview
from synclog.selectors.reconcile import connection_reconcile_state

SYNCS = ["Syncs"]
RECORDS = ["Sync records"]
CONNECTIONS = ["Connections"]


def _sync_response(run, *, code: int = status.HTTP_200_OK) -> Response:
    run = sync_run_get(org=run.org, public_id=run.public_id)
    return Response(SyncSerializer(run).data, status=code)


class SyncListCreateApi(ApiListView):
    queryset = SyncRun.objects.none()  # only tells the schema the model
    serializer_class = SyncSerializer
    filterset_class = SyncFilter

    def get_queryset(self):
        return selectors.sync_run_list(org=self.request.org)

    @api_schema(
        summary="List syncs",
        description="Newest first. Filters: `status_code` (1010 = still in progress after ten "
        "minutes), `started_from` / `started_to` (dates), `connection` (id), `id` (the sync "
        "id or its first characters).",
        responses={200: SyncSerializer(many=True)},
        tags=SYNCS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Start a sync",
        description="Push documents (by id) and the documents of expense datasets to the "
        "ledger: every existing entry is updated, missing ones are created (a paid document's "
        "payments too). Answers 202 at once with the sync id; follow it with "
        "`GET /syncs/{id}`. One sync is started per active connection: `syncs` lists them and "
        "`id` is the first. More datasets may be pushed while it runs.",
        request=SyncStartSerializer,
        responses={202: SyncStartedSerializer},
        post=True,
        tags=SYNCS,
        examples=[
            OpenApiExample(
                "Sync a dataset",
                value={"dataset_ids": ["0b6f3c9e-7a51-4c1e-9a55-1f0f8e1d2c3b"]},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        data = SyncStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        runs = api_services.sync_start(
            org=request.org,
            document_ids=data.validated_data["document_ids"],
            dataset_ids=data.validated_data["dataset_ids"],
            actor_label=self.actor_label,
        )
        runs = [sync_run_get(org=request.org, public_id=run.public_id) for run in runs]
        syncs = SyncSerializer(runs, many=True).data
        body = {"id": syncs[0]["id"], "status_code": syncs[0]["status_code"], "syncs": syncs}
        return Response(
            body,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/syncs/{syncs[0]['id']}"},
        )


class SyncPreviewApi(ApiView):
    @api_schema(
        summary="Preview a sync",
        description="What `POST /syncs` with the same body would change, before anything is "
        "sent: for each active connection, each entry of the first documents (20; the others "
        "are counted in `documents_not_previewed`) with its action (`create`, `update`, "
        "`unchanged`, `refused`, `cannot`, `unread`, `held`) and, field by field, what the "
        "ledger holds now beside what the push sends. The ledger is read in one batched call "
        "(MYOB: one call per entry), counted in the connection's quota; a ledger that cannot "
        "be read is named in `ledger_error`, and what needs no read is still previewed. It "
        "starts nothing and writes nothing.",
        request=SyncStartSerializer,
        responses={200: SyncPreviewSerializer},
        post=True,
        tags=SYNCS,
        examples=[
            OpenApiExample(
                "Preview two documents", value={"document_ids": [412, 413]}, request_only=True
            )
        ],
    )
    @idempotent  # every POST honours the key: a replay answers the first preview again
    def post(self, request):
        data = SyncStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document_ids = api_services.sync_documents_checked(
            org=request.org,
            document_ids=data.validated_data["document_ids"],
            dataset_ids=data.validated_data["dataset_ids"],
        )
        previews = bulk_resync_preview(org=request.org, document_ids=document_ids)
        return Response(SyncPreviewSerializer({"previews": previews}).data)


class SyncDetailApi(ApiView):
    @api_schema(
        summary="Read a sync",
        description="Its status code (1000 in progress, 1010 over ten minutes, 2000 success, "
        "2040 nothing to push, 4xxx configuration, 5xxx failure; a sync fails if any item "
        "fails) and its counts.",
        responses={200: SyncSerializer},
        lookup=True,
        tags=SYNCS,
    )
    def get(self, request, sync_id):
        return _sync_response(sync_run_get(org=request.org, public_id=sync_id))


class TransactionPagination(ApiCursorPagination):
    ordering = "id"  # in the order they were queued


class SyncTransactionListApi(ApiListView):
    queryset = SyncRunItem.objects.none()  # only tells the schema the model
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    pagination_class = TransactionPagination

    def get_queryset(self):
        self.run = sync_run_get(org=self.request.org, public_id=self.kwargs["sync_id"])
        return selectors.sync_run_items(run=self.run)

    @api_schema(
        summary="List a sync's transactions",
        description="Each push item with its status (`pending`, `pushed`, `nothing_to_push`, "
        "`failed`), status code and, when it failed, the error: the ledger's message, what it "
        "means and how to fix it. Filters: `status`, `entry_type`, `document`.",
        responses={200: TransactionSerializer(many=True)},
        lookup=True,
        tags=SYNCS,
    )
    def get(self, request, sync_id):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        attempts = sync_run_item_attempts(
            run=self.run, record_ids=[item.record_id for item in page]
        )
        data = TransactionSerializer(page, many=True, context={"attempts": attempts}).data
        return self.get_paginated_response(data)


class SyncTransactionDetailApi(ApiView):
    @api_schema(
        summary="Read one transaction of a sync",
        responses={200: TransactionSerializer},
        lookup=True,
        tags=SYNCS,
    )
    def get(self, request, sync_id, transaction_id: int):
        run = sync_run_get(org=request.org, public_id=sync_id)
        item = selectors.sync_run_item_get(run=run, item_id=transaction_id)
        attempts = sync_run_item_attempts(run=run, record_ids=[item.record_id])
        return Response(TransactionSerializer(item, context={"attempts": attempts}).data)


class SyncRetryFailedApi(ApiView):
    @api_schema(
        summary="Retry a sync's failed items",
        description="Fix the cause first (a mapping, the document), then push every item of "
        "this sync that is still failed again, in a new sync (its `retry_of` is this one). "
        "400 when none failed. Items marked Complete by hand since are skipped.",
        request=None,
        responses={202: SyncSerializer},
        lookup=True,
        post=True,
        tags=SYNCS,
    )
    @idempotent
    def post(self, request, sync_id):
        run = sync_run_get(org=request.org, public_id=sync_id)
        retry = api_services.sync_retry_failed(run=run, actor_label=self.actor_label)
        return _sync_response(retry, code=status.HTTP_202_ACCEPTED)


class SyncRecordListApi(ApiListView):
    queryset = SyncRecord.objects.none()  # only tells the schema the model
    serializer_class = SyncRecordSerializer
    filterset_class = SyncRecordFilter

    def get_queryset(self):
        return selectors.sync_record_list(org=self.request.org)

    @api_schema(
        summary="List sync records",
        description="One record per ledger entry of a document on a connection: the rows of "
        "the Accounting Sync History page, with its filters (no defaults here): `entry_type`, "
        "`status` (pending, complete, failed), `date_from` / `date_to` (the sync date of "
        "complete records, the failure date of failed ones; ignored for pending), "
        "`connection`, `document`.",
        responses={200: SyncRecordSerializer(many=True)},
        tags=RECORDS,
    )
    def get(self, request):
        return super().get(request)


class SyncRecordStatusUpdateApi(ApiView):
    @api_schema(
        summary="Update sync status",
        description="`complete`: failed records reconciled by hand in the ledger (only failed "
        "ones may be marked complete); `pending`: push them again. Changes only our records, "
        "audited with the note. Every id must be one of your sync records.",
        request=SyncRecordStatusUpdateSerializer,
        responses={200: SyncRecordStatusUpdatedSerializer},
        post=True,
        tags=RECORDS,
    )
    @idempotent
    def post(self, request):
        data = SyncRecordStatusUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["ids"]
        api_services.sync_record_ids_check(org=request.org, record_ids=ids)
        note = data.validated_data["note"] or f"via the API ({self.actor_label})"
        updated = sync_services.sync_status_update(
            org=request.org,
            record_ids=ids,
            to_status=STATUS_BY_NAME[data.validated_data["status"]],
            actor=None,
            actor_label=self.actor_label,
            note=note,
        )
        return Response({"updated": updated})


class ConnectionListApi(ApiListView):
    queryset = Connection.objects.none()  # only tells the schema the model
    serializer_class = ConnectionSerializer

    def get_queryset(self):
        return connection_list(org=self.request.org)

    @api_schema(
        summary="List connections",
        description="The organisation's links to accounting systems (never their credentials).",
        responses={200: ConnectionSerializer(many=True)},
        tags=CONNECTIONS,
    )
    def get(self, request):
        return super().get(request)


class ConnectionDetailApi(ApiView):
    @api_schema(
        summary="Read a connection",
        responses={200: ConnectionSerializer},
        lookup=True,
        tags=CONNECTIONS,
    )
    def get(self, request, connection_id: int):
        connection = connection_get(org=request.org, connection_id=connection_id)
        return Response(ConnectionSerializer(connection).data)


class ConnectionForceSyncApi(ApiView):
    @api_schema(
        summary="Force sync a connection",
        description="Catch up: push everything syncable that is not complete on this "
        "connection (including documents that never got a record). Only an active connection.",
        request=None,
        responses={202: SyncSerializer},
        lookup=True,
        post=True,
        tags=CONNECTIONS,
    )
    @idempotent
    def post(self, request, connection_id: int):
        connection = connection_get(org=request.org, connection_id=connection_id)
        run = api_services.connection_force_sync(
            org=request.org, connection=connection, actor_label=self.actor_label
        )
        return _sync_response(run, code=status.HTTP_202_ACCEPTED)


class ConnectionLedgerCheckApi(ApiView):
    @api_schema(
        summary="Read a connection's ledger check",
        description="What the last check of the ledger for changes made there (drift) found, "
        "whether one is queued or running, and when the next scheduled one is.",
        responses={200: LedgerCheckSerializer},
        lookup=True,
        tags=CONNECTIONS,
    )
    def get(self, request, connection_id: int):
        connection = connection_get(org=request.org, connection_id=connection_id)
        state = connection_reconcile_state(connection=connection)
        return Response(LedgerCheckSerializer(state).data)

    @api_schema(
        summary="Check the ledger now",
        description="Queue the check of the ledger for entries changed there since the last "
        "one (edited, voided, deleted, paid there), instead of waiting for the next scheduled "
        "check. It runs as the scheduled one does: after the pushes people are waiting for, "
        "within the ledger's quota. 409 `ledger_check_running` or `ledger_check_queued` while "
        "one is under way, `needs_reauth` when the connection must be reconnected first; 400 "
        "for a connection that is not active; 503 `ledger_check_not_queued` when the task queue "
        "is unavailable (nothing was saved: try again later). Poll the GET for its findings.",
        request=None,
        responses={
            202: LedgerCheckSerializer,
            503: OpenApiResponse(
                ErrorSerializer,
                description="The task queue is unavailable (code `ledger_check_not_queued`): "
                "nothing was queued or saved; retry later.",
            ),
        },
        lookup=True,
        post=True,
        tags=CONNECTIONS,
    )
    @idempotent
    def post(self, request, connection_id: int):
        connection = connection_get(org=request.org, connection_id=connection_id)
        try:
            sync_services.connection_reconcile_request(
                connection=connection, actor_label=self.actor_label
            )
        except DjangoValidationError as error:
            code = {
                "running": "ledger_check_running",
                "queued": "ledger_check_queued",
                "needs_reauth": "needs_reauth",
                "not_queued": "ledger_check_not_queued",
            }.get(error.code)
            if code is None:
                raise  # not active, or a ledger that cannot be read: 400
            # The broker is down (nothing was saved, a retry may succeed): 503, not a conflict.
            unavailable = error.code == "not_queued"
            raise ApplicationError(
                " ".join(error.messages),
                code=code,
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE
                if unavailable
                else status.HTTP_409_CONFLICT,
            ) from error
        state = connection_reconcile_state(connection=connection)
        return Response(LedgerCheckSerializer(state).data, status=status.HTTP_202_ACCEPTED)
