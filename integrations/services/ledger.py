"""Reaching a ledger: its transport, the emulator addresses allowed, the credentials saved as
they rotate, and connector_for, the one place a connector is built."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db import connection as db_connection

from integrations.connectors import connector_class_for
from integrations.connectors.base import Connector
from integrations.connectors.errors import ConfigurationError, RateLimitedError
from integrations.connectors.types import ConnectorContext, OAuthCredentials
from integrations.models import Connection
from syncsvc.outages import save_through_outage

logger = logging.getLogger(__name__)


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
        refresh_lock=lambda: _credentials_refresh_lock(connection),
    )
    if record_call is not None:
        context.record_call = record_call
    if before_request is not None:
        context.before_request = before_request
    return connector_class_for(connection.provider)(context)


# pg_advisory_lock keys of the connections' token refreshes: this base plus the connection's id.
REFRESH_LOCK_BASE = 0x4C53_0000_0000


@contextmanager
def _credentials_refresh_lock(connection: Connection) -> Iterator[OAuthCredentials | None]:
    """One refresh of a connection's tokens at a time across every process (a PostgreSQL
    advisory lock, held while the ledger answers), yielding the credentials saved by then: two
    workers whose token expired together must not both send the refresh token, since the first
    refresh spends it and the second would cost the connection a reconnect. Without the
    database (an outage) the refresh goes unlocked, as it did before."""
    key = REFRESH_LOCK_BASE + connection.pk
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        saved = Connection.objects.filter(pk=connection.pk).first()
    except DatabaseError:
        logger.warning("Refreshing connection %s's tokens without the lock", connection.pk)
        yield None
        return
    try:
        yield OAuthCredentials.from_dict(saved.credentials) if saved and saved.credentials else None
    finally:
        try:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            pass  # the session ended with the outage, and its locks with it


@contextmanager
def connector_for_page(
    connection: Connection, *, wait_seconds: float | None = None
) -> Iterator[Connector]:
    """A connector for the calls a person waits on (a page's lists of accounts and contacts, a
    connection test, a disconnect), closed after. Each request first takes its place in the
    connection's quota beside the engine's pushes (waiting a few seconds at most; a worker's
    read passes `wait_seconds=0` and reschedules instead), and a 429 pauses the pushes too: a
    page read must not spend what a sync in flight counts on."""
    # The sync engine builds on integrations: imported here, not at the top.
    from synclog.services.quota import connection_quota_pause, connection_quota_take_request

    if wait_seconds is None:
        wait_seconds = settings.LEDGER_PAGE_QUOTA_WAIT_SECONDS

    def take_request() -> None:
        connection_quota_take_request(connection=connection, wait_seconds=wait_seconds)

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
