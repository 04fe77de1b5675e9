from django.urls import path

from integrations.views import connect, connection, mappings

app_name = "integrations"

urlpatterns = [
    path("", connect.ConnectionListView.as_view(), name="list"),
    path("callback/", connect.OAuthCallbackView.as_view(), name="callback"),
    path("choose/", connect.TenantChoiceView.as_view(), name="choose"),
    path("<int:connection_id>/", connection.ConnectionDetailView.as_view(), name="detail"),
    path("<int:connection_id>/mappings/", mappings.MappingView.as_view(), name="mappings"),
    path(
        "<int:connection_id>/locked-periods/",
        connection.LockedPeriodPolicyView.as_view(),
        name="locked-periods",
    ),
    path(
        "<int:connection_id>/ledger-check/",
        connection.LedgerCheckView.as_view(),
        name="ledger-check",
    ),
    path(
        "<int:connection_id>/<slug:action>/",
        connection.ConnectionActionView.as_view(),
        name="action",
    ),
]
