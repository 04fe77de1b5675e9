"""The ledger's lock date, as each connection knows it: read on connect, by beat every
LEDGER_LOCK_DATE_REFRESH_SECONDS, and after the ledger refuses a push for its locked period;
and the policy for pushes dated in it, which an admin sets (audited)."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.connectors.errors import ConnectorError
from integrations.connectors.types import LedgerLockDate
from integrations.models import (
    Connection,
    ConnectionEvent,
    ConnectionEventKind,
    ConnectionStatus,
    LockedPeriodPolicy,
)
from integrations.services.ledger import connector_for_page

logger = logging.getLogger(__name__)


def connection_lock_date_refresh(
    *, connection: Connection, refused_record_ids=(), wait_seconds: float | None = None
) -> LedgerLockDate:
    """Read the ledger's lock date (one request, counted in the connection's quota as a page's
    read is, waiting `wait_seconds` at most for room in it), save it, and push again what it
    no longer holds back; `refused_record_ids`: the records the ledger refused for its lock,
    held now if the date read covers them. Raises the connector's error when the ledger cannot
    be read (the saved date stays; RateLimitedError when the quota has no room)."""
    with connector_for_page(connection, wait_seconds=wait_seconds) as connector:
        lock = connector.read_lock_date()
    connection.lock_date = lock.locked_through
    connection.lock_date_source = lock.source[:200]
    connection.lock_date_read_at = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        lock_date=connection.lock_date,
        lock_date_source=connection.lock_date_source,
        lock_date_read_at=connection.lock_date_read_at,
    )
    # The sync engine builds on integrations: imported here, not at the top.
    from synclog.services.locks import held_records_release

    held_records_release(connection=connection, refused_ids=refused_record_ids)
    return lock


def connection_lock_date_refresh_quietly(*, connection: Connection) -> None:
    """On connect: read the lock date if the ledger answers now; a failure is logged, not
    shown (beat reads it again within LEDGER_LOCK_DATE_REFRESH_SECONDS)."""
    try:
        connection_lock_date_refresh(connection=connection)
    except ConnectorError as error:
        logger.warning("Lock date of connection %s not read: %s", connection.pk, error)


def connections_due_for_lock_date(*, older_than) -> list[int]:
    """Active connections whose lock date was read before `older_than`, or never."""
    from django.db.models import Q

    return list(
        Connection.objects.filter(status=ConnectionStatus.ACTIVE)
        .exclude(credentials_encrypted="")
        .filter(Q(lock_date_read_at__isnull=True) | Q(lock_date_read_at__lt=older_than))
        .order_by("lock_date_read_at", "pk")
        .values_list("pk", flat=True)
    )


def connection_locked_period_policy_set(
    *, connection: Connection, policy: str, actor
) -> Connection:
    """What a push dated in the ledger's locked period does: held until the lock moves, or
    re-dated to the first open day. Audited (who, from, to); switching to re-dating pushes the
    held records again at once. ValidationError for an unknown policy."""
    if policy not in LockedPeriodPolicy.values:
        raise ValidationError({"locked_period_policy": "Choose one of the offered policies."})
    previous = connection.locked_period_policy
    if policy == previous:
        return connection
    with transaction.atomic():
        connection.locked_period_policy = policy
        connection.save(update_fields=["locked_period_policy", "updated_at"])
        ConnectionEvent.objects.create(
            connection=connection,
            kind=ConnectionEventKind.POLICY_CHANGED,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            note=f"Locked periods: {LockedPeriodPolicy(previous).label} → "
            f"{LockedPeriodPolicy(policy).label}",
        )
        if policy == LockedPeriodPolicy.REDATE:
            from synclog.services.locks import held_records_release

            held_records_release(connection=connection)
    return connection
