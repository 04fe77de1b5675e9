from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.ConnectionListView.as_view(), name="list"),
    path("callback/", views.OAuthCallbackView.as_view(), name="callback"),
    path("choose/", views.TenantChoiceView.as_view(), name="choose"),
    path("<int:connection_id>/", views.ConnectionDetailView.as_view(), name="detail"),
    path("<int:connection_id>/mappings/", views.MappingView.as_view(), name="mappings"),
    path(
        "<int:connection_id>/locked-periods/",
        views.LockedPeriodPolicyView.as_view(),
        name="locked-periods",
    ),
    path(
        "<int:connection_id>/ledger-check/",
        views.LedgerCheckView.as_view(),
        name="ledger-check",
    ),
    path(
        "<int:connection_id>/<slug:action>/",
        views.ConnectionActionView.as_view(),
        name="action",
    ),
]
