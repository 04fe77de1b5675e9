"""Sign-in, sign-out and switching organisation; and the API keys page, which the root urlconf
mounts at settings/api-keys/ (namespace api_keys)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("sign-in/", auth_views.LoginView.as_view(), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("organisation/switch/", views.organization_switch, name="organization-switch"),
]

api_keys_urlpatterns = (
    [
        path("", views.ApiKeysView.as_view(), name="list"),
        path("<int:api_key_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="revoke"),
    ],
    "api_keys",
)
