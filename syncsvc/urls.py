from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="documents:list"), name="home"),
    path("", include("accounts.urls")),
    path("documents/", include("documents.urls")),
    path("integrations/", include("integrations.urls")),
    path("sync/", include("synclog.urls")),
    path("api/", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("settings/api-keys/", include("accounts.urls_api_keys")),
    path("connect/", include("partners.urls")),
    path("admin/", admin.site.urls),
]
