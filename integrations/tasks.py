"""Celery tasks of the connections: thin, each calls one service."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from integrations import services
from integrations.connectors.errors import ConnectorError, RateLimitedError
from integrations.models import Connection, ConnectionStatus

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def connection_lock_date_refresh(connection_id: int, refused_record_ids=None) -> None:
    connection = Connection.objects.filter(pk=connection_id, status=ConnectionStatus.ACTIVE).first()
    if connection is None:
        return
    try:
        # A worker does not sleep for quota: no room now, it comes back when there is.
        services.connection_lock_date_refresh(
            connection=connection, refused_record_ids=refused_record_ids or (), wait_seconds=0
        )
    except RateLimitedError as error:
        connection_lock_date_refresh.apply_async(
            args=[connection_id, refused_record_ids], countdown=max(error.retry_after, 1)
        )
    except ConnectorError as error:  # read again at beat's next turn
        logger.warning("Lock date of connection %s not read: %s", connection_id, error)


@shared_task(ignore_result=True)
def lock_dates_refresh() -> int:
    """Beat: each active connection's lock date read again once it is older than
    LEDGER_LOCK_DATE_REFRESH_SECONDS (one request each, in its own task)."""
    older_than = timezone.now() - datetime.timedelta(
        seconds=settings.LEDGER_LOCK_DATE_REFRESH_SECONDS
    )
    due = services.connections_due_for_lock_date(older_than=older_than)
    for connection_id in due:
        connection_lock_date_refresh.delay(connection_id)
    return len(due)
