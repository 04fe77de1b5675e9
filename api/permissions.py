from rest_framework.permissions import BasePermission

from accounts.models import ApiKey


class HasApiKey(BasePermission):
    """Only calls made with an organisation's API key; no session, no anonymous access."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) and getattr(request, "org", None) is not None
