"""`Authorization: Bearer <API key>`: the key's organisation is the request's organisation."""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiKey
from accounts.services import api_key_authenticate
from partners.models import PartnerApiKey
from partners.selectors import partner_grant_for
from partners.services import is_partner_key, partner_key_authenticate


class _KeyPrincipal:
    """What Django and DRF ask of request.user, for a caller that is a key, not a person:
    services get actor=None and runs carry its `username` as their actor label."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __str__(self) -> str:
        return self.username


@dataclass(frozen=True)
class ApiKeyPrincipal(_KeyPrincipal):
    """Who calls: a partner system, by its organisation key (request.user)."""

    api_key: ApiKey

    @property
    def username(self) -> str:
        return f"API key {self.api_key.name}"


@dataclass(frozen=True)
class PartnerPrincipal(_KeyPrincipal):
    """A partner system, by its partner key, on its own endpoints (no organisation)."""

    partner_key: PartnerApiKey

    @property
    def username(self) -> str:
        return f"Partner {self.partner_key.partner.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None  # NotAuthenticated (401) from the permission check
        if header[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed("Use `Authorization: Bearer <API key>`.")
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header holds one API key.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        # /api/v1/organizations/{org_id}/…: the organisation named in the path (ApiView.dispatch).
        path_org_id = getattr(request._request, "path_org_id", None)
        if is_partner_key(plaintext):
            return self._authenticate_partner(request, plaintext, path_org_id)
        api_key = api_key_authenticate(plaintext=plaintext)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if path_org_id is not None and path_org_id != api_key.org_id:
            raise exceptions.NotFound()  # another organisation: as if it did not exist
        return self._acting_for(request, api_key)

    @staticmethod
    def _acting_for(request, api_key: ApiKey):
        # Every selector and service of the API is scoped by request.org.
        request.org = api_key.org
        request._request.org = api_key.org
        return ApiKeyPrincipal(api_key=api_key), api_key

    def _authenticate_partner(self, request, plaintext: str, path_org_id: int | None):
        partner_key = partner_key_authenticate(plaintext=plaintext)
        if partner_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        request.partner = partner_key.partner
        request._request.partner = partner_key.partner
        if path_org_id is None:
            # The partner's own endpoints (/partner/…); per-organisation ones answer 403.
            request.org = None
            request._request.org = None
            return PartnerPrincipal(partner_key=partner_key), partner_key
        grant = partner_grant_for(partner=partner_key.partner, org_id=path_org_id)
        if grant is None:
            raise exceptions.NotFound()  # not in this partner's scope: as if it did not exist
        # The grant's organisation key: throttling, idempotency and the actor label as for any
        # organisation key.
        return self._acting_for(request, grant.api_key)

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key created by an admin on the API keys page "
            "(`Authorization: Bearer lsk_…`). Each key acts for one organisation. A partner's key "
            "(`lsp_…`, created by our staff) acts on the organisations it created or was "
            "granted, named in the path: `/api/v1/organizations/{org_id}/…`.",
        }
