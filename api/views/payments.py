"""A document's attachments (receipts, PDFs) and payments; the organisation's payments."""

from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from api import selectors
from api.filters import PaymentFilter
from api.idempotency import idempotent
from api.schema import api_schema
from api.serializers.documents import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
)
from api.views.base import ApiListView, created_response
from documents import services
from documents.models import Attachment, Payment

ATTACHMENTS = ["Attachments"]
PAYMENTS = ["Payments"]


class AttachmentListCreateApi(ApiListView):
    queryset = Attachment.objects.none()  # only tells the schema the model
    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        document = selectors.document_owned(
            org=self.request.org, document_id=self.kwargs["document_id"]
        )
        return selectors.attachment_list(document=document)

    @api_schema(
        summary="List a document's attachments",
        responses={200: AttachmentSerializer(many=True)},
        lookup=True,
        tags=ATTACHMENTS,
    )
    def get(self, request, document_id: int):
        return super().get(request)

    @api_schema(
        summary="Attach a receipt or PDF",
        description="`multipart/form-data` with one `file`: a PDF, PNG or JPEG (recognised by "
        "its bytes, not its name), at most 10 MB. An approved document's entry in the ledger "
        "gets the file on its next push.",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
        lookup=True,
        post=True,
        tags=ATTACHMENTS,
    )
    @idempotent
    def post(self, request, document_id: int):
        document = selectors.document_owned(org=request.org, document_id=document_id)
        data = AttachmentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            document=document,
            actor=None,
            actor_label=self.actor_label,
            upload=data.validated_data["file"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class DocumentPaymentListCreateApi(ApiListView):
    queryset = Payment.objects.none()  # only tells the schema the model
    serializer_class = PaymentSerializer

    def get_queryset(self):
        document = selectors.document_owned(
            org=self.request.org, document_id=self.kwargs["document_id"]
        )
        return selectors.payment_list(org=self.request.org, document=document)

    @api_schema(
        summary="List a document's payments",
        responses={200: PaymentSerializer(many=True)},
        lookup=True,
        tags=PAYMENTS,
    )
    def get(self, request, document_id: int):
        return super().get(request)

    @api_schema(
        summary="Record a payment",
        description="A full or partial payment of an approved document; the document becomes "
        "paid when nothing is left due. The payment syncs after its bill entry.",
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
        lookup=True,
        post=True,
        tags=PAYMENTS,
    )
    @idempotent
    def post(self, request, document_id: int):
        document = selectors.document_owned(org=request.org, document_id=document_id)
        return created_response(
            request,
            data_serializer=PaymentCreateSerializer,
            create=services.payment_record,
            serializer=PaymentSerializer,
            document=document,
            actor=None,
            actor_label=self.actor_label,
        )


class PaymentListApi(ApiListView):
    queryset = Payment.objects.none()  # only tells the schema the model
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def get_queryset(self):
        return selectors.payment_list(org=self.request.org)

    @api_schema(
        summary="List payments",
        description="Every payment of the organisation; filters `document`, `paid_from`, "
        "`paid_to`.",
        responses={200: PaymentSerializer(many=True)},
        tags=PAYMENTS,
    )
    def get(self, request):
        return super().get(request)
