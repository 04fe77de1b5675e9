"""REST API for partner systems, under /api/v1/ (schema at /api/schema/, docs at /api/docs/)."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api.exceptions import error_body
from api.schema import SCHEMA_SETTINGS
from api.views import (
    datasets,
    documents,
    mappings,
    organization,
    partners,
    payments,
    reference,
    syncs,
    webhooks,
)

app_name = "api"

v1 = [
    path("contacts", reference.ContactListCreateApi.as_view(), name="contacts"),
    path("contacts/<int:contact_id>", reference.ContactDetailApi.as_view(), name="contact"),
    path("categories", reference.CategoryListCreateApi.as_view(), name="categories"),
    path("categories/<int:category_id>", reference.CategoryDetailApi.as_view(), name="category"),
    path("departments", reference.DepartmentListCreateApi.as_view(), name="departments"),
    path(
        "departments/<int:department_id>",
        reference.DepartmentDetailApi.as_view(),
        name="department",
    ),
    path("documents", documents.DocumentListCreateApi.as_view(), name="documents"),
    path("documents/<int:document_id>", documents.DocumentDetailApi.as_view(), name="document"),
    path(
        "documents/<int:document_id>/approve",
        documents.DocumentApproveApi.as_view(),
        name="document-approve",
    ),
    path(
        "documents/<int:document_id>/void",
        documents.DocumentVoidApi.as_view(),
        name="document-void",
    ),
    path(
        "documents/<int:document_id>/attempts",
        documents.DocumentAttemptListApi.as_view(),
        name="document-attempts",
    ),
    path(
        "documents/<int:document_id>/attachments",
        payments.AttachmentListCreateApi.as_view(),
        name="document-attachments",
    ),
    path(
        "documents/<int:document_id>/payments",
        payments.DocumentPaymentListCreateApi.as_view(),
        name="document-payments",
    ),
    path("payments", payments.PaymentListApi.as_view(), name="payments"),
    path("organization", organization.OrganizationApi.as_view(), name="organization"),
    path("expense-datasets", datasets.DatasetListCreateApi.as_view(), name="datasets"),
    path("expense-datasets/<uuid:dataset_id>", datasets.DatasetDetailApi.as_view(), name="dataset"),
    path("syncs", syncs.SyncListCreateApi.as_view(), name="syncs"),
    path("syncs/preview", syncs.SyncPreviewApi.as_view(), name="sync-preview"),
    path("syncs/<uuid:sync_id>", syncs.SyncDetailApi.as_view(), name="sync"),
    path(
        "syncs/<uuid:sync_id>/transactions",
        syncs.SyncTransactionListApi.as_view(),
        name="sync-transactions",
    ),
    path(
        "syncs/<uuid:sync_id>/transactions/<int:transaction_id>",
        syncs.SyncTransactionDetailApi.as_view(),
        name="sync-transaction",
    ),
    path(
        "syncs/<uuid:sync_id>/retry-failed",
        syncs.SyncRetryFailedApi.as_view(),
        name="sync-retry-failed",
    ),
    path("sync-records", syncs.SyncRecordListApi.as_view(), name="sync-records"),
    path(
        "sync-records/update-status",
        syncs.SyncRecordStatusUpdateApi.as_view(),
        name="sync-records-update-status",
    ),
    path("connections", syncs.ConnectionListApi.as_view(), name="connections"),
    path("connections/<int:connection_id>", syncs.ConnectionDetailApi.as_view(), name="connection"),
    path(
        "connections/<int:connection_id>/mapping-options",
        mappings.MappingOptionsApi.as_view(),
        name="connection-mapping-options",
    ),
    path(
        "connections/<int:connection_id>/mappings",
        mappings.MappingsApi.as_view(),
        name="connection-mappings",
    ),
    path(
        "connections/<int:connection_id>/force-sync",
        syncs.ConnectionForceSyncApi.as_view(),
        name="connection-force-sync",
    ),
    path(
        "connections/<int:connection_id>/ledger-check",
        syncs.ConnectionLedgerCheckApi.as_view(),
        name="connection-ledger-check",
    ),
    path("webhook-endpoints", webhooks.WebhookEndpointListCreateApi.as_view(), name="webhooks"),
    path(
        "webhook-endpoints/<int:endpoint_id>",
        webhooks.WebhookEndpointDetailApi.as_view(),
        name="webhook",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate-secret",
        webhooks.WebhookEndpointRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries",
        webhooks.WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>",
        webhooks.WebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
        webhooks.WebhookDeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]


@csrf_exempt  # an API client sends no CSRF token: answer it the 404, not a CSRF 403
def endpoint_not_found(request, *args, **kwargs):
    """Anything else under /api/v1/ (an unknown path, an id that is not a number): the API's
    404, in its error shape, not the site's HTML page."""
    return JsonResponse(error_body("not_found", "No such API endpoint or object."), status=404)


# The schema and the docs are public (they hold no data), so a partner can read them first.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

# A partner key's own endpoints (no organisation in the path).
partner = [
    path(
        "organizations",
        partners.PartnerOrganizationListCreateApi.as_view(),
        name="partner-organizations",
    ),
    path(
        "organizations/<int:company_id>",
        partners.PartnerOrganizationDetailApi.as_view(),
        name="partner-organization",
    ),
    path(
        "organizations/<int:company_id>/connect-links",
        partners.PartnerConnectLinkApi.as_view(),
        name="partner-connect-links",
    ),
    path("connections", partners.PartnerConnectionListApi.as_view(), name="partner-connections"),
]

urlpatterns = [
    path("v1/partner/", include(partner)),
    # Every endpoint again with the organisation in the path, for partner keys (an
    # organisation's own key may use it too, with its own id). Left out of the schema.
    path("v1/organizations/<int:org_id>/", include(v1)),
    path("v1/", include(v1)),
    re_path(r"^v1/", endpoint_not_found),
    path(
        "schema/",
        SpectacularAPIView.as_view(custom_settings=SCHEMA_SETTINGS, **PUBLIC),
        name="schema",
    ),
    # The split view serves Swagger UI's set-up script from a URL (no inline script); its page
    # keeps a small inline <style>, allowed on this page alone.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema", **PUBLIC)
        ),
        name="docs",
    ),
]
