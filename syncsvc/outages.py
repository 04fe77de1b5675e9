"""Writes that must outlive a short database outage (a restart, a failover).

Some writes record what an outside system has already done: a ledger's answer, a refresh token
the ledger has just rotated (the old one is dead). Losing them to a restart of PostgreSQL loses
facts that cannot be asked for again, so they are tried again on a new connection for a while.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection

logger = logging.getLogger(__name__)

# The database went away: worth trying again on a new connection.
DB_ERRORS = (OperationalError, InterfaceError)
ALREADY_SAVED = object()
T = TypeVar("T")


def save_through_outage(
    write: Callable[[], T],
    *,
    what: Callable[[], str],
    saved: Callable[[], bool] | None = None,
) -> T:
    """`write()` (one transaction; returns what it returns), tried again on a new connection for
    up to SYNC_DB_RETRY_SECONDS while the database is away.

    A connection broken during COMMIT leaves it unknown whether the write went through: `saved()`,
    when given, is asked before trying again, and ALREADY_SAVED returned instead of writing twice.
    Inside a transaction nothing can be tried again here: the error goes to the caller.
    """
    deadline = time.monotonic() + settings.SYNC_DB_RETRY_SECONDS
    delay = 0.5
    tried = False
    while True:
        try:
            if tried and saved is not None and saved():
                return ALREADY_SAVED
            tried = True
            return write()
        except DB_ERRORS:
            if db_connection.in_atomic_block or time.monotonic() + delay > deadline:
                logger.error("Could not be saved while the database was away: %s", what())
                raise
            logger.warning("Database unavailable; saving again: %s", what())
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            db_connection.close()
