"""The API keys page; the root urlconf includes it at settings/api-keys/."""

from django.urls import path

from accounts.views_api_keys import ApiKeyRevokeView, ApiKeysView

app_name = "api_keys"

urlpatterns = [
    path("", ApiKeysView.as_view(), name="list"),
    path("<int:api_key_id>/revoke/", ApiKeyRevokeView.as_view(), name="revoke"),
]
