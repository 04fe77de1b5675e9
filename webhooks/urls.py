from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.EndpointListView.as_view(), name="list"),
    path("new/", views.EndpointCreateView.as_view(), name="create"),
    path("<int:endpoint_id>/", views.EndpointDetailView.as_view(), name="detail"),
    path("<int:endpoint_id>/edit/", views.EndpointEditView.as_view(), name="edit"),
    path("<int:endpoint_id>/enable/", views.EndpointEnableView.as_view(), name="enable"),
    path("<int:endpoint_id>/disable/", views.EndpointDisableView.as_view(), name="disable"),
    path(
        "<int:endpoint_id>/rotate-secret/",
        views.EndpointRotateSecretView.as_view(),
        name="rotate-secret",
    ),
    path("<int:endpoint_id>/delete/", views.EndpointDeleteView.as_view(), name="delete"),
    path(
        "<int:endpoint_id>/deliveries/<int:delivery_id>/",
        views.DeliveryDetailView.as_view(),
        name="delivery",
    ),
    path(
        "<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/",
        views.DeliveryRedeliverView.as_view(),
        name="redeliver",
    ),
]
