"""`Authorization: Bearer <API key>`: the key's organisation is the request's organisation."""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.api_keys import api_key_authenticate
from accounts.models import ApiKey


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who calls: a partner system, by its key (request.user). Not a person: services get
    actor=None and runs carry the key's name as their actor label."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    @property
    def username(self) -> str:
        return f"API key {self.api_key.name}"

    def __str__(self) -> str:
        return self.username


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
        api_key = api_key_authenticate(plaintext=plaintext)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        # Every selector and service of the API is scoped by request.org.
        request.org = api_key.org
        request._request.org = api_key.org
        return ApiKeyPrincipal(api_key=api_key), api_key

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
            "(`Authorization: Bearer lsk_…`). Each key acts for one organisation.",
        }
