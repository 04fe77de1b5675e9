"""Webhook endpoints (CRUD; the signing secret returned once) and their deliveries (list, read,
redeliver), through webhooks.services and webhooks.selectors."""

from rest_framework import status
from rest_framework.response import Response

from api.filters import DeliveryFilter
from api.idempotency import idempotent
from api.schema import api_schema
from api.serializers.webhooks import (
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookRedeliverySerializer,
    WebhookSecretSerializer,
)
from api.views.base import ApiListView, ApiView
from webhooks import selectors, services
from webhooks.models import WebhookDelivery, WebhookEndpoint

TAGS = ["Webhooks"]


class WebhookEndpointListCreateApi(ApiListView):
    queryset = WebhookEndpoint.objects.none()  # only tells the schema the model
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return selectors.webhook_endpoint_list(org=self.request.org)

    @api_schema(
        summary="List webhook endpoints",
        responses={200: WebhookEndpointSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a webhook endpoint",
        description="Subscribe a URL to events. The answer carries the signing `secret` this "
        "once. Deliveries are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
        "`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed with the "
        "base64-decoded part of the secret after `whsec_`), retried until a 2xx at once, 5 s, "
        "5 min, 30 min, 2 h, 5 h, 10 h and 10 h; an endpoint failing for 5 days is disabled.",
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        post=True,
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        data = WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            org=request.org, actor=None, **data.validated_data
        )
        body = {**WebhookEndpointSerializer(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(ApiView):
    @api_schema(
        summary="Read a webhook endpoint",
        responses={200: WebhookEndpointSerializer},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @api_schema(
        summary="Update a webhook endpoint",
        description="Only the fields sent change. `is_active: true` enables a disabled "
        "endpoint again; `false` disables it (its waiting deliveries end).",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer},
        lookup=True,
        tags=TAGS,
    )
    def patch(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        data = WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint, actor=None, **data.validated_data
        )
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @api_schema(
        summary="Delete a webhook endpoint",
        description="With its deliveries and their log.",
        responses={204: None},
        lookup=True,
        tags=TAGS,
    )
    def delete(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        services.webhook_endpoint_delete(
            endpoint=endpoint, actor=None, actor_label=self.actor_label
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretApi(ApiView):
    @api_schema(
        summary="Rotate a webhook endpoint's secret",
        description="A new signing secret, in force at once for every later attempt; shown "
        "this once.",
        request=None,
        responses={200: WebhookSecretSerializer},
        lookup=True,
        post=True,
        tags=TAGS,
    )
    @idempotent
    def post(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        secret = services.webhook_endpoint_secret_rotate(
            endpoint=endpoint, actor=None, actor_label=self.actor_label
        )
        return Response({"secret": secret})


class WebhookDeliveryListApi(ApiListView):
    queryset = WebhookDelivery.objects.none()  # only tells the schema the model
    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        endpoint = selectors.webhook_endpoint_get(
            org=self.request.org, endpoint_id=self.kwargs["endpoint_id"]
        )
        return selectors.webhook_delivery_list(org=self.request.org, endpoint=endpoint)

    @api_schema(
        summary="List an endpoint's deliveries",
        description="Newest first, each with its status (pending: retries scheduled; "
        "success; failed: retries spent), attempts made and the last answer. Filters: "
        "`status`, `event_type`.",
        responses={200: WebhookDeliverySerializer(many=True)},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, endpoint_id: int):
        return super().get(request)


class WebhookDeliveryDetailApi(ApiView):
    @api_schema(
        summary="Read a delivery",
        description="With the event's data and every attempt (status code, response body, "
        "error, duration).",
        responses={200: WebhookDeliveryDetailSerializer},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, endpoint_id: int, delivery_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(
            org=request.org, delivery_id=delivery_id, endpoint=endpoint
        )
        attempts = selectors.webhook_delivery_attempt_list(delivery=delivery)
        return Response(
            WebhookDeliveryDetailSerializer(delivery, context={"attempts": attempts}).data
        )


class WebhookDeliveryRedeliverApi(ApiView):
    @api_schema(
        summary="Redeliver",
        description="Send the message to the endpoint once more, now (a manual attempt; a "
        "delivery still in its retry schedule keeps it). 400 when the endpoint is disabled. "
        "The 202 says where the redelivery went. `queued: true`: the task queue took it, and "
        "the attempt appears in the delivery's `attempts` within seconds. `queued: false`: the "
        "task queue is unavailable right now, so the redelivery is saved for the periodic "
        "sweep, which sends it within `sweep_within_seconds` of the queue answering again. "
        "A request replayed by its `Idempotency-Key` answers as the first one did.",
        request=None,
        responses={202: WebhookRedeliverySerializer},
        lookup=True,
        post=True,
        tags=TAGS,
    )
    @idempotent
    def post(self, request, endpoint_id: int, delivery_id: int):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(
            org=request.org, delivery_id=delivery_id, endpoint=endpoint
        )
        redelivery = services.webhook_delivery_redeliver(
            delivery=delivery, actor=None, actor_label=self.actor_label
        )
        delivery = selectors.webhook_delivery_get(org=request.org, delivery_id=delivery_id)
        body = WebhookRedeliverySerializer(delivery, context={"redelivery": redelivery}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
