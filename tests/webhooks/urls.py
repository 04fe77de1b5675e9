"""The project's URLs plus the webhooks pages, until syncsvc/urls.py includes them itself."""

from django.urls import include, path

from syncsvc.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "webhooks" for pattern in urlpatterns):
    urlpatterns.append(path("webhooks/", include("webhooks.urls")))
