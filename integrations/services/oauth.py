"""Connecting a ledger: the consent URL, the OAuth answer, the choice of the ledger's organisation
and the binding of a connection to it."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from integrations.connectors import connector_class_for
from integrations.connectors.types import ConnectorContext, LedgerTenant, OAuthCredentials
from integrations.crypto import decrypt_json, encrypt_json
from integrations.models import Connection, ConnectionEventKind, ConnectionStatus
from integrations.selectors import connection_for_tenant, connection_tenant_bound_elsewhere
from integrations.services import ledger
from integrations.services.connections import _connection_event, _resume_syncs, _status_changed
from integrations.services.ledger import base_url_validate
from integrations.services.lock_dates import connection_lock_date_refresh_quietly


def connection_authorization_url(
    *, provider: str, base_url: str, redirect_uri: str, state: str
) -> str:
    """The ledger's consent page for a new connection (checked address; the Xero emulator's
    public address when the browser reaches it elsewhere), carrying `state` back to us."""
    base_url = base_url_validate(base_url)
    public = settings.XERO_EMULATOR_PUBLIC_URL
    if public and base_url and base_url == settings.XERO_EMULATOR_URL.rstrip("/"):
        # The consent page is opened by the user's browser, not by this service.
        base_url = public.rstrip("/")
    return connector_class_for(provider).authorization_url(
        base_url=base_url, redirect_uri=redirect_uri, state=state
    )


# How long a consent may wait for the admin's choice of organisation.
CONSENT_MAX_AGE = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class LedgerConsent:
    """What one consent at the ledger granted: our tokens and the tenants of *that* consent."""

    provider: str
    base_url: str
    credentials: OAuthCredentials
    tenants: tuple[LedgerTenant, ...]
    granted_at: datetime.datetime

    def tenant(self, tenant_id: str) -> LedgerTenant | None:
        return next((t for t in self.tenants if t.tenant_id == tenant_id), None)

    def sealed(self) -> str:
        """Encrypted, for the session while the admin chooses (the tokens are secrets)."""
        return encrypt_json(
            {
                "provider": self.provider,
                "base_url": self.base_url,
                "credentials": self.credentials.to_dict(),
                "tenants": [[t.tenant_id, t.name, t.connection_id] for t in self.tenants],
                "granted_at": self.granted_at.isoformat(),
            }
        )

    @classmethod
    def unsealed(cls, sealed: str) -> "LedgerConsent | None":
        """The consent, or None when it is unreadable or too old to use."""
        try:
            data = decrypt_json(sealed)
            consent = cls(
                provider=data["provider"],
                base_url=data["base_url"],
                credentials=OAuthCredentials.from_dict(data["credentials"]),
                tenants=tuple(LedgerTenant(*t) for t in data["tenants"]),
                granted_at=datetime.datetime.fromisoformat(data["granted_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if timezone.now() - consent.granted_at > CONSENT_MAX_AGE:
            return None
        return consent


class TenantChoiceRequired(Exception):
    """The admin must choose the organisation on our page: the consent holds several, or its
    only one is already connected to another organisation here."""

    def __init__(self, consent: LedgerConsent) -> None:
        super().__init__("Choose the ledger organisation to connect.")
        self.consent = consent


def connection_complete_oauth(
    *,
    org: Organization,
    actor,
    provider: str,
    base_url: str,
    callback: dict[str, str],
    redirect_uri: str,
    name: str = "",
    connection: Connection | None = None,
) -> Connection:
    """Finish the OAuth2 code flow: a new connection, or the reconnection of an existing one.

    `callback` is every parameter of the ledger's redirect: besides `code`, a ledger may name
    the tenant there (QBO: `realmId`). Only the tenants of this consent count (Xero:
    `GET /connections?authEventId=`), never the first of every tenant the ledger user ever
    connected. Raises TenantChoiceRequired when the admin must choose (several tenants, or one
    already bound to another organisation)."""
    consent = connection_consent_read(
        provider=provider, base_url=base_url, callback=callback, redirect_uri=redirect_uri
    )
    if connection is not None and connection.tenant_id:
        tenant_id = connection.tenant_id  # a reconnect keeps its organisation (checked below)
    elif len(consent.tenants) == 1 and not connection_tenant_bound_elsewhere(
        org=org,
        provider=provider,
        base_url=consent.base_url,
        tenant_id=consent.tenants[0].tenant_id,
    ):
        tenant_id = consent.tenants[0].tenant_id
    else:
        raise TenantChoiceRequired(consent)
    return connection_bind(
        org=org, actor=actor, consent=consent, tenant_id=tenant_id, name=name, connection=connection
    )


def connection_consent_read(
    *, provider: str, base_url: str, callback: dict[str, str], redirect_uri: str
) -> LedgerConsent:
    """Exchange the code and ask the ledger which tenants this consent granted."""
    base_url = base_url_validate(base_url)
    connector_class = connector_class_for(provider)
    tenant_id = connector_class.tenant_from_callback(callback)
    credentials = connector_class.exchange_code(
        base_url=base_url,
        code=callback["code"],
        redirect_uri=redirect_uri,
        transport=ledger.ledger_transport(None),
    )
    probe = connector_class(
        ConnectorContext(
            base_url=base_url,
            tenant_id=tenant_id,
            credentials=credentials,
            transport=ledger.ledger_transport(None),
            timeout_seconds=settings.LEDGER_HTTP_TIMEOUT_SECONDS,
        )
    )
    try:
        tenants = probe.list_consent_tenants()
    finally:
        probe.close()
    if not tenants:
        raise ValidationError("The ledger granted access to no organisation.")
    return LedgerConsent(
        provider=provider,
        base_url=base_url,
        credentials=probe.context.credentials,
        tenants=tuple(tenants),
        granted_at=timezone.now(),
    )


def connection_bind(
    *,
    org: Organization,
    actor,
    consent: LedgerConsent,
    tenant_id: str,
    name: str = "",
    connection: Connection | None = None,
    confirm_shared: bool = False,
) -> Connection:
    """Bind a (new or reconnected) connection to one tenant of the consent. Connecting a tenant
    the organisation is (or was) connected to reconnects that connection: a second live one
    would push every document to the same ledger again, and a new one after a disconnect would
    not know the entries (nor the payments) its records made there."""
    tenant = consent.tenant(tenant_id)
    if connection is None and tenant is not None:
        connection = connection_for_tenant(
            org=org, provider=consent.provider, base_url=consent.base_url, tenant_id=tenant_id
        )
    if connection is not None and connection.tenant_id:
        if tenant is None or tenant.tenant_id != connection.tenant_id:
            raise ValidationError(
                f"Reconnect to the same organisation ({connection.tenant_name}); access was "
                "granted to another one."
            )
    elif tenant is None:
        raise ValidationError("Choose one of the organisations you just granted access to.")
    elif not confirm_shared and connection_tenant_bound_elsewhere(
        org=org, provider=consent.provider, base_url=consent.base_url, tenant_id=tenant_id
    ):
        raise ValidationError(
            f"{tenant.name} is already connected to another organisation in ledgersync. "
            "Confirm that both should push to the same ledger, or choose another one."
        )

    with transaction.atomic():
        kind = (
            ConnectionEventKind.CONNECTED if connection is None else ConnectionEventKind.RECONNECTED
        )
        previous = connection.status if connection is not None else None
        if connection is None:
            connection = Connection(org=org, provider=consent.provider)
        connection.name = name or connection.name or tenant.name
        connection.base_url = consent.base_url
        connection.tenant_id = tenant.tenant_id
        connection.tenant_name = tenant.name
        connection.ledger_connection_id = tenant.connection_id
        connection.credentials = consent.credentials.to_dict()
        connection.status = ConnectionStatus.ACTIVE
        connection.connected_by = actor
        connection.connected_at = timezone.now()
        connection.last_error = ""
        connection.save()
        _connection_event(connection=connection, kind=kind, actor=actor)
        _status_changed(connection, previous)
        _resume_syncs(connection)
    # Before anything is pushed into it: the ledger's lock date.
    connection_lock_date_refresh_quietly(connection=connection)
    return connection
