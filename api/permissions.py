from rest_framework.permissions import BasePermission

from accounts.models import ApiKey
from partners.models import PartnerApiKey


class HasApiKey(BasePermission):
    """Only calls made with an organisation's API key (a partner's key acts through one, with
    the organisation in the path); no session, no anonymous access."""

    message = (
        "A partner key acts on one of its organisations, named in the path: "
        "/api/v1/organizations/{org_id}/…"
    )

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) and getattr(request, "org", None) is not None


class HasPartnerKey(BasePermission):
    """The partner endpoints: only a partner's key."""

    message = "Only a partner key (lsp_…) can call the partner endpoints."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerApiKey)
