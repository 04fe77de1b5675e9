"""Expense datasets: push a batch of expense transactions; read a dataset and its items."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import status
from rest_framework.response import Response

from api import selectors
from api.filters import DatasetFilter
from api.idempotency import idempotent
from api.models import ExpenseDataset
from api.schema import api_schema
from api.serializers.datasets import (
    ExpenseDatasetCreateSerializer,
    ExpenseDatasetSerializer,
    ExpenseDatasetSummarySerializer,
)
from api.services import expense_dataset_create
from api.views.base import ApiListView, ApiView

TAGS = ["Expense datasets"]


def _dataset_response(dataset, *, code=status.HTTP_200_OK) -> Response:
    items = selectors.dataset_items(dataset=dataset)
    return Response(ExpenseDatasetSerializer(dataset, context={"items": items}).data, status=code)


class DatasetListCreateApi(ApiListView):
    queryset = ExpenseDataset.objects.none()  # only tells the schema the model
    serializer_class = ExpenseDatasetSummarySerializer
    filterset_class = DatasetFilter

    def get_queryset(self):
        return selectors.dataset_list(org=self.request.org)

    @api_schema(
        summary="List expense datasets",
        description="Newest first; filters `created_from`, `created_to`.",
        responses={200: ExpenseDatasetSummarySerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Push expense transactions",
        description="Up to 500 expense transactions in one dataset, all or nothing (every "
        "item's errors at once, e.g. `items.3.lines.0.unit_amount`). Each becomes an approved "
        "expense document. The dataset is `staged`: held until you start its sync with "
        '`POST /syncs {"dataset_ids": [id]}`, which pushes its items in batches. Datasets '
        "pushed while a sync runs wait for the next one. An organisation whose "
        "`dataset_sync` is `on_push` (`GET /organization`) has each item synced as it is "
        "pushed instead. A transaction id pushed before is refused: update its document and "
        "retry instead.",
        request=ExpenseDatasetCreateSerializer,
        responses={201: ExpenseDatasetSerializer},
        post=True,
        tags=TAGS,
        examples=[
            OpenApiExample(
                "Two card payments",
                value={
                    "items": [
                        {
                            "id": "txn-0001",
                            "issue_date": "2026-11-03",
                            "currency": "EUR",
                            "merchant_name": "Café Central",
                            "category": 3,
                            "lines": [{"description": "Team lunch", "unit_amount": "86.40"}],
                        },
                        {
                            "id": "txn-0002",
                            "issue_date": "2026-11-04",
                            "currency": "EUR",
                            "contact": 12,
                            "notes": "Train to Lyon",
                            "lines": [
                                {"description": "Ticket", "unit_amount": "120.00", "category": 5}
                            ],
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        data = ExpenseDatasetCreateSerializer(data=request.data, context={"org": request.org})
        data.is_valid(raise_exception=True)
        items = [
            {**item, "lines": [dict(line) for line in item["lines"]]}
            for item in data.validated_data["items"]
        ]
        dataset = expense_dataset_create(
            org=request.org, api_key=request.auth, items=items, actor_label=self.actor_label
        )
        return _dataset_response(dataset, code=status.HTTP_201_CREATED)


class DatasetDetailApi(ApiView):
    @api_schema(
        summary="Read an expense dataset",
        description="Its items with their documents and sync status on each connection "
        "(with the error, explanation and hint of a failed one).",
        responses={200: ExpenseDatasetSerializer},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, dataset_id):
        dataset = selectors.dataset_get(org=request.org, public_id=dataset_id)
        return _dataset_response(dataset)
