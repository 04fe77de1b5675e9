"""Xero's identity service: OAuth2 authorization-code flow, rotating refresh tokens, connections.

Tokens are opaque to the emulator's checks (looked up in memory) but shaped like Xero's: access
and id tokens are HS256 JWTs carrying the claims clients commonly read (`authentication_event_id`,
`xero_userid`, `exp`, `scope`).
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import EmulatorConfig

DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings accounting.attachments"
)
USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://ledgersync.local/emulators/xero/user"))
DEFAULT_USER_EMAIL = "demo@ledgersync.local"


class OAuthError(Exception):
    """An error of the token endpoint: answered as `400 {"error": <code>}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class BearerError(Exception):
    """An API call whose access token is missing, unknown, revoked or expired."""

    def __init__(self, expired_at: float | None = None) -> None:
        super().__init__("expired" if expired_at else "invalid")
        self.expired_at = expired_at


@dataclass
class User:
    """A Xero user: signs in on the consent page and sees only the tenants they may access
    (`tenant_ids` None: every tenant, as the seeded demo user)."""

    user_id: str
    email: str
    tenant_ids: list[str] | None = None


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    scope: str
    auth_event_id: str
    expires_at: float
    user_id: str = USER_ID


@dataclass
class AccessToken:
    client_id: str
    scope: str
    auth_event_id: str
    expires_at: float
    revoked: bool = False
    user_id: str = USER_ID


@dataclass
class RefreshToken:
    client_id: str
    scope: str
    auth_event_id: str
    expires_at: float
    used_at: float | None = None
    successor: dict | None = None  # the answer to its one use, replayed within the grace window
    revoked: bool = False
    user_id: str = USER_ID


@dataclass
class Connection:
    """As in Xero, one per (app, user, tenant): "the connections for this user". A new consent
    to a tenant the user already connected keeps the id and takes the new authEventId."""

    id: str
    client_id: str
    tenant_id: str
    auth_event_id: str
    created: float
    updated: float
    user_id: str = USER_ID


@dataclass
class _Store:
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    users: dict[str, User] = field(
        default_factory=lambda: {USER_ID: User(USER_ID, DEFAULT_USER_EMAIL)}
    )


class OAuthServer:
    def __init__(
        self, config: EmulatorConfig, clock: Callable[[], float], tenant_exists: Callable
    ) -> None:
        self.config = config
        self.clock = clock
        self.tenant_exists = tenant_exists
        self.store = _Store()

    def reset(self) -> None:
        self.store = _Store()

    # --- the app ---------------------------------------------------------------------------

    def client_is_known(self, client_id: str | None) -> bool:
        return client_id == self.config.client_id

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> str:
        if not (
            self.client_is_known(client_id)
            and client_secret is not None
            and hmac.compare_digest(client_secret, self.config.client_secret)
        ):
            raise OAuthError("invalid_client")
        return client_id

    def redirect_uri_allowed(self, uri: str | None) -> bool:
        if not uri:
            return False
        if self.config.redirect_uris:
            return uri in self.config.redirect_uris
        return uri.startswith(("http://", "https://"))

    # --- consent and token endpoint ---------------------------------------------------------

    # --- users ------------------------------------------------------------------------------

    def add_user(self, email: str, tenant_ids: list[str] | None) -> User:
        if any(u.email == email for u in self.store.users.values()):
            raise ValueError(f"a user with email {email!r} exists")
        user = User(str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{email}")), email, tenant_ids)
        self.store.users[user.user_id] = user
        return user

    def user_by_email(self, email: str | None) -> User:
        """The user signing in (no email: the seeded demo user)."""
        if not email:
            return self.store.users[USER_ID]
        user = next((u for u in self.store.users.values() if u.email == email), None)
        if user is None:
            raise KeyError(f"unknown user '{email}'")
        return user

    def may_access(self, user: User, tenant_id: str) -> bool:
        return self.tenant_exists(tenant_id) and (
            user.tenant_ids is None or tenant_id in user.tenant_ids
        )

    # --- consent and token endpoint ---------------------------------------------------------

    def approve(
        self, client_id: str, redirect_uri: str, scope: str, tenant_ids, user_id: str = USER_ID
    ) -> str:
        """The user clicked "Allow access": connect the tenants and hand out a one-time code.
        Every consent is a new authentication event; its id tells the app which tenants were
        connected by *this* consent (`GET /connections?authEventId=`)."""
        now = self.clock()
        auth_event_id = str(uuid.uuid4())
        for tenant_id in tenant_ids:
            connection = self._connection(client_id, user_id, tenant_id)
            if connection is None:
                connection = Connection(
                    str(uuid.uuid4()), client_id, tenant_id, auth_event_id, now, now, user_id
                )
                self.store.connections[connection.id] = connection
            connection.auth_event_id, connection.updated = auth_event_id, now
        code = secrets.token_urlsafe(32)
        self.store.codes[code] = AuthorizationCode(
            client_id,
            redirect_uri,
            scope,
            auth_event_id,
            now + self.config.authorization_code_ttl,
            user_id,
        )
        return code

    def exchange_code(self, client_id: str, code: str | None, redirect_uri: str | None) -> dict:
        grant = self.store.codes.pop(code or "", None)  # single use, even when refused below
        if (
            grant is None
            or grant.client_id != client_id
            or grant.redirect_uri != redirect_uri
            or self.clock() >= grant.expires_at
        ):
            raise OAuthError("invalid_grant")
        return self._issue(client_id, grant.scope, grant.auth_event_id, grant.user_id)

    def refresh(self, client_id: str, token: str | None) -> dict:
        record = self.store.refresh_tokens.get(token or "")
        now = self.clock()
        if record is None or record.revoked or record.client_id != client_id:
            raise OAuthError("invalid_grant")
        if record.used_at is not None:
            grace = self.config.refresh_grace_seconds
            if record.successor and grace and now - record.used_at <= grace:
                return record.successor
            raise OAuthError("invalid_grant")
        if now >= record.expires_at:
            raise OAuthError("invalid_grant")
        record.used_at = now
        record.successor = self._issue(
            client_id, record.scope, record.auth_event_id, record.user_id
        )
        return record.successor

    def revoke_token(self, client_id: str, token: str | None) -> None:
        """`POST /connect/revocation`: a refresh token and the access tokens of its grant."""
        record = self.store.refresh_tokens.get(token or "")
        if record is None or record.client_id != client_id:
            return  # RFC 7009: unknown tokens are not an error
        for other in self.store.refresh_tokens.values():
            if other.auth_event_id == record.auth_event_id:
                other.revoked = True
        for access in self.store.access_tokens.values():
            if access.auth_event_id == record.auth_event_id:
                access.revoked = True

    def connect(self, client_id: str, scope: str, tenant_ids, user_id: str = USER_ID) -> dict:
        """Consent and code exchange in one step, for tests and the demo set-up."""
        code = self.approve(client_id, "urn:emulator", scope, tenant_ids, user_id)
        return self.exchange_code(client_id, code, "urn:emulator")

    def _issue(self, client_id: str, scope: str, auth_event_id: str, user_id: str) -> dict:
        now = self.clock()
        user = self.store.users.get(user_id) or User(user_id, DEFAULT_USER_EMAIL)
        ttl = self.config.access_token_ttl
        access_token = self._jwt(
            {
                "nbf": int(now),
                "exp": int(now + ttl),
                "iss": "https://identity.xero.com",
                "aud": "https://identity.xero.com/resources",
                "client_id": client_id,
                "sub": user_id,
                "auth_time": int(now),
                "xero_userid": user_id,
                "global_session_id": auth_event_id,
                "jti": secrets.token_hex(16),
                "authentication_event_id": auth_event_id,
                "scope": scope.split(),
            }
        )
        self.store.access_tokens[access_token] = AccessToken(
            client_id, scope, auth_event_id, now + ttl, user_id=user_id
        )
        answer = {
            "id_token": self._jwt(
                {
                    "nbf": int(now),
                    "exp": int(now + 300),
                    "iss": "https://identity.xero.com",
                    "aud": client_id,
                    "sub": user_id,
                    "xero_userid": user_id,
                    "email": user.email,
                    "given_name": "Demo",
                    "family_name": "User",
                }
            ),
            "access_token": access_token,
            "expires_in": ttl,
            "token_type": "Bearer",
        }
        # As in Xero, only the offline_access scope earns a refresh token.
        if "offline_access" in scope.split():
            refresh_token = secrets.token_hex(32)
            self.store.refresh_tokens[refresh_token] = RefreshToken(
                client_id,
                scope,
                auth_event_id,
                now + self.config.refresh_token_ttl,
                user_id=user_id,
            )
            answer["refresh_token"] = refresh_token
        answer["scope"] = scope
        return answer

    def _jwt(self, claims: dict) -> str:
        def encode(part: bytes) -> str:
            return base64.urlsafe_b64encode(part).rstrip(b"=").decode("ascii")

        header = encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        key = self.config.client_secret.encode()
        return f"{header}.{payload}.{encode(hmac.digest(key, signing_input, hashlib.sha256))}"

    # --- resource server side ---------------------------------------------------------------

    def access(self, authorization: str | None) -> AccessToken:
        scheme, _, token = (authorization or "").partition(" ")
        record = self.store.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if record is None or record.revoked:
            raise BearerError()
        if self.clock() >= record.expires_at:
            raise BearerError(expired_at=record.expires_at)
        return record

    def connections(self, access: AccessToken) -> list[Connection]:
        """The connections of the token's user to this app (not another user's)."""
        return [
            c
            for c in self.store.connections.values()
            if c.client_id == access.client_id
            and c.user_id == access.user_id
            and self.tenant_exists(c.tenant_id)
        ]

    def is_connected(self, access: AccessToken, tenant_id: str) -> bool:
        connection = self._connection(access.client_id, access.user_id, tenant_id)
        return connection is not None and self.tenant_exists(tenant_id)

    def delete_connection(self, access: AccessToken, connection_id: str) -> bool:
        connection = self.store.connections.get(connection_id)
        if (
            connection is None
            or connection.client_id != access.client_id
            or connection.user_id != access.user_id
        ):
            return False
        del self.store.connections[connection_id]
        return True

    def _connection(self, client_id: str, user_id: str, tenant_id: str) -> Connection | None:
        return next(
            (
                c
                for c in self.store.connections.values()
                if c.client_id == client_id and c.user_id == user_id and c.tenant_id == tenant_id
            ),
            None,
        )

    # --- control API ------------------------------------------------------------------------

    def expire_access_tokens(self) -> int:
        now = self.clock()
        for record in self.store.access_tokens.values():
            record.expires_at = min(record.expires_at, now)
        return len(self.store.access_tokens)

    def revoke_all(self) -> None:
        for record in self.store.access_tokens.values():
            record.revoked = True
        for record in self.store.refresh_tokens.values():
            record.revoked = True


def expired_detail(expired_at: float) -> str:
    """Xero's wording for an expired token, e.g. `TokenExpired: token expired at 11/28/2026 …`."""
    moment = datetime.fromtimestamp(expired_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
    return f"TokenExpired: token expired at {moment}"
