"""Every write to connections and mappings, and the one place a connector is built."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from documents.models import Category, Contact, Department
from integrations.connectors import connector_class_for
from integrations.connectors.base import (
    ConnectionCheck,
    Connector,
    ConnectorContext,
    LedgerAccount,
    LedgerTenant,
    OAuthCredentials,
)
from integrations.connectors.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    RateLimitedError,
)
from integrations.crypto import decrypt_json, encrypt_json
from integrations.models import (
    Connection,
    ConnectionEvent,
    ConnectionEventKind,
    ConnectionStatus,
    Mapping,
    MappingKind,
)
from integrations.selectors import (
    connection_for_tenant,
    connection_ledger_link_shared,
    connection_tenant_bound_elsewhere,
)
from syncsvc.outages import save_through_outage

LOCAL_MODEL_FOR_KIND = {
    MappingKind.ACCOUNT: Category,
    MappingKind.TRACKING: Department,
    MappingKind.CONTACT: Contact,
}


def ledger_transport(connection: Connection | None):
    """The httpx transport to reach a ledger: None (the network) except in tests."""
    return None


def base_url_validate(base_url: str) -> str:
    """An emulator may stand in for the ledger only where allowed, and only at a configured
    emulator address: the server sends the app's client id and secret to it, so "any port on
    this machine" would hand them to whatever listens there."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url:
        return ""
    if not settings.LEDGER_EMULATOR_ALLOWED:
        raise ValidationError({"base_url": "A custom ledger address is not allowed here."})
    address = _address(base_url)
    if address is None:
        raise ValidationError(
            {"base_url": "Enter an http(s) address such as http://127.0.0.1:8123."}
        )
    if address not in allowed_emulator_addresses():
        raise ValidationError(
            {
                "base_url": "Only the configured ledger emulator may stand in for the ledger: "
                + ", ".join(sorted(allowed_emulator_urls()))
                + "."
            }
        )
    return base_url


def allowed_emulator_urls() -> set[str]:
    """The emulator addresses this service may send credentials to: each ledger's configured
    emulator and LEDGER_EMULATOR_URLS, without trailing slashes."""
    urls = [
        settings.XERO_EMULATOR_URL,
        settings.QBO_EMULATOR_URL,
        settings.MYOB_EMULATOR_URL,
        *settings.LEDGER_EMULATOR_URLS,
    ]
    return {url.strip().rstrip("/") for url in urls if url and url.strip()}


def allowed_emulator_addresses() -> set[tuple[str, str, int, str]]:
    """allowed_emulator_urls as (scheme, host, port, path), the port explicit, to compare an
    address however it is written."""
    return {a for a in (_address(url) for url in allowed_emulator_urls()) if a is not None}


def _address(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) with the port made explicit, or None if not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def connection_address_error(connection: Connection) -> ConfigurationError | None:
    """Why this connection's saved ledger address may not be used now (emulators switched off,
    or the address no longer configured), checked before every call out."""
    if not connection.base_url:
        return None
    try:
        base_url_validate(connection.base_url)
    except ValidationError:
        return ConfigurationError(
            "This connection points at a ledger emulator address that this installation does "
            "not allow.",
            explanation="Ledger emulators are switched off here (LEDGER_EMULATOR_ALLOWED), or "
            "the connection's emulator address is not one of the configured ones, so nothing "
            "is sent to it.",
            hint="An admin connects the real ledger (a new connection without an emulator "
            "address), or the operator allows that emulator address again.",
        )
    return None


def connector_for(connection: Connection, *, record_call=None, before_request=None) -> Connector:
    """The connector for a connection; refreshed tokens are saved as soon as they arrive.

    Do not call a connector inside a transaction: a rotated refresh token must be committed even
    when the caller's work fails, or the connection is lost. Raises ConfigurationError when the
    connection's saved address may not be used any more.
    """
    address_error = connection_address_error(connection)
    if address_error is not None:
        raise address_error
    credentials = connection.credentials
    context = ConnectorContext(
        base_url=connection.base_url,
        tenant_id=connection.tenant_id,
        credentials=OAuthCredentials.from_dict(credentials) if credentials else None,
        save_credentials=lambda fresh: connection_credentials_save(
            connection=connection, credentials=fresh
        ),
        transport=ledger_transport(connection),
        timeout_seconds=settings.LEDGER_HTTP_TIMEOUT_SECONDS,
    )
    if record_call is not None:
        context.record_call = record_call
    if before_request is not None:
        context.before_request = before_request
    return connector_class_for(connection.provider)(context)


@contextmanager
def connector_for_page(connection: Connection) -> Iterator[Connector]:
    """A connector for the calls a person waits on (a page's lists of accounts and contacts, a
    connection test, a disconnect), closed after. Each request first takes its place in the
    connection's quota beside the engine's pushes (waiting a few seconds at most), and a 429
    pauses the pushes too: a page read must not spend what a sync in flight counts on."""
    # The sync engine builds on integrations: imported here, not at the top.
    from synclog.services.quota import connection_quota_pause, connection_quota_take_request

    def take_request() -> None:
        connection_quota_take_request(
            connection=connection, wait_seconds=settings.LEDGER_PAGE_QUOTA_WAIT_SECONDS
        )

    connector = connector_for(connection, before_request=take_request)
    try:
        yield connector
    except RateLimitedError as error:
        if error.problem != "quota":  # the ledger's own 429, not our quota's "not now"
            connection_quota_pause(connection=connection, seconds=error.retry_after)
        raise
    finally:
        connector.close()


def connection_credentials_save(*, connection: Connection, credentials: OAuthCredentials) -> None:
    """Xero rotates the refresh token on every refresh: the old one is dead once this is called,
    so a database outage must not lose the new one (the connection would need a reconnect)."""
    connection.credentials = credentials.to_dict()
    save_through_outage(
        lambda: connection.save(update_fields=["credentials_encrypted", "updated_at"]),
        what=lambda: f"the refreshed credentials of connection {connection.pk}",
    )


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
        transport=ledger_transport(None),
    )
    probe = connector_class(
        ConnectorContext(
            base_url=base_url,
            tenant_id=tenant_id,
            credentials=credentials,
            transport=ledger_transport(None),
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
    return connection


def _connection_event(*, connection: Connection, kind: str, actor, note: str = "") -> None:
    # Called inside the change's transaction: no change without its audit row, nor the reverse.
    ConnectionEvent.objects.create(
        connection=connection,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        note=note,
    )


def _status_changed(connection: Connection, previous: str | None) -> None:
    # Partners learn that pushes stopped (or can go again) without polling the connection:
    # the connection.status_changed webhook, written in the change's transaction.
    from webhooks.services import webhook_emit_connection_status_changed

    webhook_emit_connection_status_changed(connection=connection, previous=previous)


def _resume_syncs(connection: Connection) -> None:
    # What waited while the connection could not be used goes now (the sync engine builds on
    # integrations, so it is imported here, not at the top).
    from synclog.services import connection_resume

    connection_resume(connection=connection)


def connection_test(*, connection: Connection) -> ConnectionCheck:
    """Ask the ledger who we are connected to; an auth failure marks the connection needs_reauth."""
    try:
        with connector_for_page(connection) as connector:
            check = connector.check_connection()
    except AuthError as error:
        connection_mark_needs_reauth(connection=connection, error=error)
        raise
    except ConnectorError as error:
        connection.last_error = error.message
        connection.last_checked_at = timezone.now()
        connection.save(update_fields=["last_error", "last_checked_at", "updated_at"])
        raise
    connection.tenant_name = check.tenant_name
    connection.last_error = ""
    connection.last_checked_at = timezone.now()
    recovered = connection.status == ConnectionStatus.NEEDS_REAUTH
    if recovered:
        connection.status = ConnectionStatus.ACTIVE
    connection.save(
        update_fields=["tenant_name", "last_error", "last_checked_at", "status", "updated_at"]
    )
    if recovered:
        _status_changed(connection, ConnectionStatus.NEEDS_REAUTH)
        _resume_syncs(connection)
    return check


def connection_mark_needs_reauth(*, connection: Connection, error: ConnectorError) -> None:
    """The ledger refused our tokens: the connection waits for a reconnect (needs_reauth) with
    the ledger's words, and the change is announced once, however many pushes were refused."""
    with transaction.atomic():
        # Told once: every push refused after the first finds the status set already.
        previous = (
            Connection.objects.select_for_update()
            .filter(pk=connection.pk)
            .values_list("status", flat=True)
            .first()
        )
        Connection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.NEEDS_REAUTH,
            last_error=error.message,
            last_checked_at=timezone.now(),
            updated_at=timezone.now(),
        )
        connection.refresh_from_db()
        _status_changed(connection, previous)


@transaction.atomic
def connection_disable(*, connection: Connection, actor) -> Connection:
    """Stop pushing through the connection and log who did it; ValidationError for a
    disconnected one."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise ValidationError("A disconnected connection cannot be disabled; reconnect it first.")
    previous = connection.status
    connection.status = ConnectionStatus.DISABLED
    connection.save(update_fields=["status", "updated_at"])
    _connection_event(connection=connection, kind=ConnectionEventKind.DISABLED, actor=actor)
    _status_changed(connection, previous)
    return connection


@transaction.atomic
def connection_enable(*, connection: Connection, actor) -> Connection:
    """Push through a disabled connection again, resuming what waited, and log who did it;
    ValidationError unless it was disabled."""
    if connection.status != ConnectionStatus.DISABLED:
        raise ValidationError("Only a disabled connection can be enabled.")
    connection.status = ConnectionStatus.ACTIVE
    connection.save(update_fields=["status", "updated_at"])
    _connection_event(connection=connection, kind=ConnectionEventKind.ENABLED, actor=actor)
    _status_changed(connection, ConnectionStatus.DISABLED)
    _resume_syncs(connection)
    return connection


def connection_disconnect(*, connection: Connection, actor) -> Connection:
    """Revoke access at the ledger (best effort), wipe the credentials, keep every record."""
    if connection.has_credentials:
        # A link another of our connections also uses (an admin confirmed the shared tenant)
        # stays at the ledger: only our own tokens are revoked then.
        shared = connection_ledger_link_shared(connection=connection)
        try:
            with connector_for_page(connection) as connector:
                connector.revoke(connection_id=connection.ledger_connection_id, keep_link=shared)
        except ConnectorError as error:
            # The credentials go anyway: the user asked to cut the link on our side.
            connection.last_error = f"Revoking access at the ledger failed: {error.message}"
    # The ledger was asked above, outside any transaction; our change and its audit go together.
    with transaction.atomic():
        previous = connection.status
        connection.credentials = {}
        connection.status = ConnectionStatus.DISCONNECTED
        connection.save(
            update_fields=["credentials_encrypted", "status", "last_error", "updated_at"]
        )
        _connection_event(
            connection=connection,
            kind=ConnectionEventKind.DISCONNECTED,
            actor=actor,
            note=connection.last_error,
        )
        _status_changed(connection, previous)
    return connection


def connection_settings_update(*, connection: Connection, payment_account_code: str) -> Connection:
    """The ledger bank account bills are paid from (by its code)."""
    connection.settings = {**connection.settings, "payment_account_code": payment_account_code}
    connection.save(update_fields=["settings", "updated_at"])
    return connection


def connection_spend_accounts_update(
    *, connection: Connection, codes: dict[str, str], choices
) -> Connection:
    """The ledger bank accounts card and bank expenses are spent from ({"card": "091"}; an
    empty code unsets one), each checked against the ledger's active bank accounts."""
    bank_codes = {a.code for a in choices.bank_accounts}
    errors = {
        f"spend_account_codes.{kind}": "Choose one of the ledger's bank accounts."
        for kind, code in codes.items()
        if code and code not in bank_codes
    }
    if errors:
        raise ValidationError(errors)
    current = dict(connection.settings.get("spend_account_codes", {}))
    current.update(codes)
    connection.settings = {
        **connection.settings,
        "spend_account_codes": {kind: code for kind, code in current.items() if code},
    }
    connection.save(update_fields=["settings", "updated_at"])
    return connection


def mapping_set(
    *,
    connection: Connection,
    kind: str,
    local_id: int,
    external_id: str,
    external_name: str = "",
    extra: dict | None = None,
) -> Mapping | None:
    """Map one of our objects to the ledger's; an empty external id removes the mapping."""
    local_model = LOCAL_MODEL_FOR_KIND.get(kind)
    if local_model is None:
        raise ValidationError({"kind": f"Unknown mapping kind {kind!r}."})
    if not local_model.objects.for_org(connection.org).filter(pk=local_id).exists():
        raise ValidationError({"local_id": "Choose a valid option: that one does not exist."})
    if not external_id:
        Mapping.objects.filter(connection=connection, kind=kind, local_id=local_id).delete()
        return None
    mapping, _ = Mapping.objects.update_or_create(
        connection=connection,
        kind=kind,
        local_id=local_id,
        defaults={
            "external_id": external_id,
            "external_name": external_name,
            "extra": extra or {},
        },
    )
    return mapping


def account_mapping_extra(account: LedgerAccount) -> dict:
    """What a category's mapping keeps of its ledger account: the code and name shown."""
    return {"code": account.code, "name": account.name}


@transaction.atomic
def mappings_auto_map_accounts(
    *, connection: Connection, accounts: list[LedgerAccount]
) -> list[Mapping]:
    """Map each unmapped category to the active ledger account with the same code."""
    by_code = {account.code: account for account in accounts if account.status == "ACTIVE"}
    mapped = set(
        Mapping.objects.filter(connection=connection, kind=MappingKind.ACCOUNT).values_list(
            "local_id", flat=True
        )
    )
    created = []
    for category in Category.objects.for_org(connection.org).exclude(pk__in=mapped):
        account = by_code.get(category.code)
        if account is not None:
            created.append(
                mapping_set(
                    connection=connection,
                    kind=MappingKind.ACCOUNT,
                    local_id=category.pk,
                    external_id=account.external_id,
                    external_name=f"{account.code} {account.name}",
                    extra=account_mapping_extra(account),
                )
            )
    return created


@transaction.atomic
def mappings_save(
    *,
    connection: Connection,
    choices,
    accounts: dict[int, str],
    tracking: dict[int, str],
    contacts: dict[int, str],
    payment_account_code: str,
) -> None:
    """Save the mapping page, each choice checked against what the ledger offers."""
    errors = {}
    for category_id, account_id in accounts.items():
        account = choices.account(account_id) if account_id else None
        if account_id and account is None:
            errors[f"account_{category_id}"] = "That account is not in the ledger any more."
            continue
        mapping_set(
            connection=connection,
            kind=MappingKind.ACCOUNT,
            local_id=category_id,
            external_id=account_id,
            external_name=f"{account.code} {account.name}" if account else "",
            extra=account_mapping_extra(account) if account else {},
        )
    for department_id, option_id in tracking.items():
        option = choices.tracking_option(option_id) if option_id else None
        if option_id and option is None:
            errors[f"tracking_{department_id}"] = (
                "That tracking option is not in the ledger any more."
            )
            continue
        mapping_set(
            connection=connection,
            kind=MappingKind.TRACKING,
            local_id=department_id,
            external_id=option_id,
            external_name=f"{option.category_name}: {option.option_name}" if option else "",
            extra={
                "category_id": option.category_id,
                "category_name": option.category_name,
                "option_name": option.option_name,
            }
            if option
            else {},
        )
    for vendor_id, contact_id in contacts.items():
        contact = choices.contact(contact_id) if contact_id else None
        if contact_id and contact is None:
            errors[f"contact_{vendor_id}"] = "That contact is not in the ledger any more."
            continue
        mapping_set(
            connection=connection,
            kind=MappingKind.CONTACT,
            local_id=vendor_id,
            external_id=contact_id,
            external_name=contact.name if contact else "",
        )
    bank_codes = {a.code for a in choices.bank_accounts}
    if payment_account_code and payment_account_code not in bank_codes:
        errors["payment_account_code"] = "Choose one of the ledger's bank accounts."
    if errors:
        raise ValidationError(errors)
    connection_settings_update(connection=connection, payment_account_code=payment_account_code)
