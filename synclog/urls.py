"""The sync pages' URLs (under /sync/): a document's Integrations tab, bulk re-sync, Requires
attention, Accounting Sync History, Sync Health and the event log."""

from django.urls import path

from synclog.views import attention, bulk, document_tab, events, health, history

app_name = "synclog"

urlpatterns = [
    # A document's Integrations tab
    path(
        "documents/<int:document_id>/integrations/",
        document_tab.DocumentIntegrationsView.as_view(),
        name="document-integrations",
    ),
    path(
        "documents/<int:document_id>/integrations/<int:connection_id>/log/",
        document_tab.DocumentIntegrationLogView.as_view(),
        name="document-integration-log",
    ),
    path(
        "documents/<int:document_id>/integrations/<int:connection_id>/resync/",
        document_tab.DocumentResyncView.as_view(),
        name="document-resync",
    ),
    path(
        "documents/<int:document_id>/integrations/<int:connection_id>/resync/preview/",
        document_tab.DocumentResyncPreviewView.as_view(),
        name="document-resync-preview",
    ),
    path(
        "documents/<int:document_id>/integrations/<int:connection_id>/push-new/",
        document_tab.DocumentPushNewView.as_view(),
        name="document-push-new",
    ),
    path(
        "documents/<int:document_id>/integrations/<int:connection_id>/records/<int:record_id>/"
        "accept-ledger/",
        document_tab.DocumentAcceptLedgerView.as_view(),
        name="document-accept-ledger",
    ),
    # Bulk re-sync
    path("bulk/confirm/", bulk.BulkConfirmView.as_view(), name="bulk-confirm"),
    path("bulk/preview/", bulk.BulkPreviewView.as_view(), name="bulk-preview"),
    path("bulk/", bulk.BulkResyncView.as_view(), name="bulk-resync"),
    path("bulk/<uuid:public_id>/", bulk.BulkProgressView.as_view(), name="bulk-progress"),
    # Requires attention
    path("attention/", attention.AttentionView.as_view(), name="attention"),
    path(
        "attention/<int:connection_id>/<int:code>/<slug:digest>/",
        attention.AttentionGroupView.as_view(),
        name="attention-group",
    ),
    path(
        "attention/<int:connection_id>/<int:code>/<slug:digest>/retry/",
        attention.AttentionRetryView.as_view(),
        name="attention-retry",
    ),
    path(
        "attention/<int:connection_id>/<int:code>/<slug:digest>/accept-ledger/",
        attention.AttentionAcceptLedgerView.as_view(),
        name="attention-accept-ledger",
    ),
    path(
        "attention/chains/<int:connection_id>/<int:document_id>/retry/",
        attention.AttentionChainRetryView.as_view(),
        name="attention-chain-retry",
    ),
    # Accounting Sync History
    path("history/", history.SyncHistoryView.as_view(), name="history"),
    path(
        "history/update-status/",
        history.SyncStatusUpdateView.as_view(),
        name="history-update-status",
    ),
    path("history/export/", history.SyncHistoryExportView.as_view(), name="history-export"),
    # Sync Health
    path("health/", health.DashboardView.as_view(), name="health"),
    path("health/runs/<uuid:public_id>/", health.RunDetailView.as_view(), name="health-run"),
    path(
        "health/runs/<uuid:public_id>/retry/",
        health.RunRetryView.as_view(),
        name="health-run-retry",
    ),
    path(
        "health/connections/<int:connection_id>/config/",
        health.ConnectionConfigView.as_view(),
        name="health-connection-config",
    ),
    path(
        "health/connections/<int:connection_id>/config.json",
        health.ConnectionConfigDownloadView.as_view(),
        name="health-connection-config-download",
    ),
    path(
        "health/connections/<int:connection_id>/runs/",
        health.ConnectionRecentRunsView.as_view(),
        name="health-connection-runs",
    ),
    # Event log
    path("events/", events.EventLogView.as_view(), name="events"),
]
