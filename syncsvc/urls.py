from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.urls import api_keys_urlpatterns

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="documents:list"), name="home"),
    path("", include("accounts.urls")),
    path("documents/", include("documents.urls")),
    path("integrations/", include("integrations.urls")),
    path("sync/", include("synclog.urls")),
    path("api/", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("settings/api-keys/", include(api_keys_urlpatterns)),
    path("connect/", include("partners.urls")),
    path("admin/", admin.site.urls),
]
