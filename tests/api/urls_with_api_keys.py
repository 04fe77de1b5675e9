"""The site's URLs with the API keys page mounted where the root urlconf is to mount it."""

from django.urls import include, path

from accounts.urls import api_keys_urlpatterns
from syncsvc.urls import urlpatterns as site_urlpatterns

already = any(getattr(pattern, "namespace", None) == "api_keys" for pattern in site_urlpatterns)
urlpatterns = list(site_urlpatterns)
if not already:
    urlpatterns.append(path("settings/api-keys/", include(api_keys_urlpatterns)))
