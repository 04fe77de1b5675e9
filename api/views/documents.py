"""Documents: list (filters), create with lines, read, update, approve, void; their attempts."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import status
from rest_framework.response import Response

from api import selectors
from api import services as api_services
from api.idempotency import idempotent
from api.schema import api_schema
from api.serializers.documents import (
    DocumentCreateSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
)
from api.serializers.syncs import AttemptSerializer
from api.views.base import ApiListView, ApiView
from documents import services
from documents.filters import DocumentFilter
from documents.models import Document, DocumentStatus
from synclog.filters import AttemptFilter
from synclog.models import SyncAttempt

TAGS = ["Documents"]

CREATE_EXAMPLE = OpenApiExample(
    "A bill with two lines",
    value={
        "kind": "bill",
        "number": "INV-1042",
        "contact": 12,
        "issue_date": "2026-11-01",
        "due_date": "2026-11-30",
        "currency": "EUR",
        "total": "150.00",
        "category": 3,
        "lines": [
            {"description": "Paper", "quantity": "2", "unit_amount": "50.00"},
            {"description": "Toner", "unit_amount": "50.00", "category": 4},
        ],
        "status": "awaiting_approval",
    },
    request_only=True,
)


class DocumentListCreateApi(ApiListView):
    queryset = Document.objects.none()  # only tells the schema the model
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter

    def get_queryset(self):
        return selectors.document_list(org=self.request.org)

    @api_schema(
        summary="List documents",
        description="Filters: `kind`, `status`, `contact` (id), `issued_from` / `issued_to` "
        "(issue date range), `q` (number contains), `sync_state` (the worst of the document's "
        "ledger entries: `failed`, `drifted`, `not_pushed`, `pending` or `in_ledger`), `sync_run` "
        "(documents in that sync) and `sync_outcome` (with `sync_run`: their outcome in it).",
        responses={200: DocumentSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a document",
        description="A bill, invoice or expense with its lines (the lines must add up to "
        "`total`). It is created as a draft, or sent for approval with "
        '`"status": "awaiting_approval"`; it syncs once approved (`POST …/approve`).',
        request=DocumentCreateSerializer,
        responses={201: DocumentSerializer},
        post=True,
        tags=TAGS,
        examples=[CREATE_EXAMPLE],
    )
    @idempotent
    def post(self, request):
        data = DocumentCreateSerializer(data=request.data, context={"org": request.org})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        submit = fields.pop("status") == DocumentStatus.AWAITING_APPROVAL
        fields["lines"] = [dict(line) for line in fields["lines"]]
        document = api_services.document_create_for_api(
            org=request.org, submit=submit, actor_label=self.actor_label, **fields
        )
        document = selectors.document_get(org=request.org, document_id=document.pk)
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


def document_acted_on(request, document_id: int, act) -> Response:
    """`act` on the organisation's document (another's is not found), then the document as it
    now is: what an approval and a void answer. (An update finds the document before it reads
    the data, so that another organisation's id is not found whatever was sent.)"""
    act(selectors.document_owned(org=request.org, document_id=document_id))
    document = selectors.document_get(org=request.org, document_id=document_id)
    return Response(DocumentSerializer(document).data)


class DocumentDetailApi(ApiView):
    @api_schema(
        summary="Read a document", responses={200: DocumentSerializer}, lookup=True, tags=TAGS
    )
    def get(self, request, document_id: int):
        document = selectors.document_get(org=request.org, document_id=document_id)
        return Response(DocumentSerializer(document).data)

    @api_schema(
        summary="Update a document",
        description="Only the fields sent change; `lines`, when sent, replace every line. An "
        "approved document's changes sync to the ledger (due date, amounts, lines, …). A void "
        "document cannot be edited; a paid one's amounts cannot change.",
        request=DocumentUpdateSerializer,
        responses={200: DocumentSerializer},
        lookup=True,
        tags=TAGS,
    )
    def patch(self, request, document_id: int):
        document = selectors.document_owned(org=request.org, document_id=document_id)
        data = DocumentUpdateSerializer(data=request.data, context={"org": request.org})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        lines = fields.pop("lines", None)
        services.document_update(
            document=document,
            actor=None,
            actor_label=self.actor_label,
            data=fields,
            lines=[dict(line) for line in lines] if lines is not None else None,
        )
        document = selectors.document_get(org=request.org, document_id=document_id)
        return Response(DocumentSerializer(document).data)


class DocumentApproveApi(ApiView):
    @api_schema(
        summary="Approve a document",
        description="A document awaiting approval (or a draft, submitted and approved in one "
        "step) becomes approved, and its sync to every active connection starts.",
        request=None,
        responses={200: DocumentSerializer},
        lookup=True,
        post=True,
        tags=TAGS,
    )
    @idempotent
    def post(self, request, document_id: int):
        return document_acted_on(
            request,
            document_id,
            lambda document: api_services.document_approve_for_api(
                document=document, actor_label=self.actor_label
            ),
        )


class DocumentVoidApi(ApiView):
    @api_schema(
        summary="Void a document",
        description="A draft, awaiting or approved document with no payment becomes void; an "
        "entry already in the ledger is voided there too.",
        request=None,
        responses={200: DocumentSerializer},
        lookup=True,
        post=True,
        tags=TAGS,
    )
    @idempotent
    def post(self, request, document_id: int):
        return document_acted_on(
            request,
            document_id,
            lambda document: services.document_void(
                document=document, actor=None, actor_label=self.actor_label
            ),
        )


class DocumentAttemptListApi(ApiListView):
    queryset = SyncAttempt.objects.none()  # only tells the schema the model
    serializer_class = AttemptSerializer
    filterset_class = AttemptFilter

    def get_queryset(self):
        document = selectors.document_owned(
            org=self.request.org, document_id=self.kwargs["document_id"]
        )
        return selectors.document_attempts(document=document)

    @api_schema(
        summary="List a document's sync attempts",
        description="The integration log of the document (its entry and its payments), newest "
        "first: trigger, operation, outcome, status code, the ledger's error with its "
        "explanation and fix hint. Filters (the event log's): `q` (document number), "
        "`connection`, `entry_type`, `outcome`, `status_code`, `date_from` / `date_to` (day "
        "started).",
        responses={200: AttemptSerializer(many=True)},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, document_id: int):
        return super().get(request)
