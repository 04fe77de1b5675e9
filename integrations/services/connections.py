"""A connection's life after it is bound: test, needs a reconnect, disable, enable, disconnect,
its settings; each status change audited and the syncs waiting on it resumed."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.connectors.errors import AuthError, ConnectorError
from integrations.connectors.types import ConnectionCheck
from integrations.models import Connection, ConnectionEvent, ConnectionEventKind, ConnectionStatus
from integrations.selectors import connection_ledger_link_shared
from integrations.services.ledger import connector_for_page


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
