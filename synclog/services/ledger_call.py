"""Calling the ledger: the quota grant, the connector's lifetime, the call record and the
mapping from error class to outcome, shared by the one-record push and the batch pushes."""

import time

from django.conf import settings

from integrations.connectors.base import Connector
from integrations.connectors.errors import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    TransientError,
)
from integrations.models import Connection
from integrations.services import connector_for
from synclog.models import SyncRecord
from synclog.ratelimit import Grant, get_rate_limiter
from synclog.services.attempt_log import _AttemptLog
from synclog.services.outcomes import (
    _Finish,
    _finish_records,
    _retry_all,
    _retry_later,
    _wait_for_reauth,
)
from synclog.services.quota import (
    _gives_way,
    _goes_first,
    _limits,
    _quota_key,
    _setup_requests,
)


class _PushLater(Exception):
    """Not an error: raised to put a claimed record back, to be pushed again after `seconds`
    (no quota now, its bill goes first), with no attempt written; the push's entry point
    (sync_record_push, sync_batch_push) catches it and returns the wait."""

    def __init__(self, seconds: float):
        self.seconds = seconds


class LedgerCall:
    """One call to a connection's ledger on behalf of claimed records (one alone, or a batch),
    from the quota grant to the outcome of each record, as Sentry's EventLifecycle wraps a
    provider call:

        call = LedgerCall(connection, records, log, calls=2)
        if not call.granted:
            return call.waits  # no quota now: the records come back when there is
        with call as connector:
            ...  # the ledger's answers: call.finishes.append(_Finish(record, ...))
        return call.waits

    It owns the quota slot (taken on creation, released on exit; a rate-limit answer pauses the
    quota key), the connector (made on entry, closed on exit, its calls recorded in `log`), and
    the mapping from error class to outcome for the records the body did not finish: rate
    limited or transient → retried later (`waits`), auth → waiting for a reconnect, any other
    ConnectorError → Failed. Whatever went wrong, `finishes` (what the ledger answered) are
    written on exit; `completed` holds the ids they made Complete."""

    def __init__(
        self,
        connection: Connection,
        records: list[SyncRecord],
        log: _AttemptLog,
        *,
        calls: int,
        requests: int | None = None,
        alone: bool = False,
        bulk: bool = False,
    ):
        """`calls`: the quota this call asks for; `requests`: the HTTP requests it makes, which
        the quota slot's lease must outlive (by default as many as the calls). `alone`: the
        one-record push, whose record is claimed Pending by it. `bulk`: a bulk batch's call,
        which gives way in the quota to a push that is not (quota._gives_way)."""
        self.connection = connection
        self.records = records
        self.log = log
        self.finishes: list[_Finish] = []
        self.waits: dict[int, float] = {}
        self.completed: set[int] = set()
        self.connector: Connector | None = None
        self._sent_at: list[float] = []  # when each HTTP request went (monotonic)
        self._alone = alone
        self._limiter = get_rate_limiter()
        self._quota_key = _quota_key(connection)
        limits = _limits(connection)
        # The connector's own first reads count too, or they go over the ledger's second unseen.
        setup = _setup_requests(connection)
        requests = (requests or calls) + setup
        calls = min(calls + setup, limits.per_window)
        # The lease outlives the slowest call: every request may take the whole HTTP timeout.
        lease = 30 + (requests or calls) * settings.LEDGER_HTTP_TIMEOUT_SECONDS
        self._grant = self._limiter.try_acquire(
            self._quota_key,
            limits,
            calls=calls,
            requests=requests,
            lease_seconds=lease,
            goes_first="" if bulk else _goes_first(connection, records),
            gives_way=bulk and _gives_way(connection),
        )
        self.granted = isinstance(self._grant, Grant)
        if not self.granted:
            # No quota now: the records come back when there is, instead of sleeping in a worker.
            self.quota_wait = float(self._grant)
            self.waits = {record.pk: self.quota_wait for record in records}

    def __enter__(self) -> Connector:
        assert self.granted, "a ledger call without quota"
        self.connector = connector_for(
            self.connection,
            record_call=self.log.record,
            before_request=lambda: self._sent_at.append(time.monotonic()),
        )
        return self.connector

    def __exit__(self, error_class, error, traceback) -> bool:
        try:
            if isinstance(error, ConnectorError):
                self._settle(error, self._unfinished())
        finally:
            # The quota's second counts the requests from when they went, not from now.
            now = time.monotonic()
            self._limiter.release(self._grant, sent_ago=[now - at for at in self._sent_at])
            self.connector.close()
            # Whatever went wrong afterwards, what the ledger answered for these is kept.
            self.completed = _finish_records(self.log, self.finishes)
        return isinstance(error, ConnectorError)

    def _unfinished(self) -> list[SyncRecord]:
        done = {finish.record.pk for finish in self.finishes}
        return [record for record in self.records if record.pk not in done]

    def _settle(self, error: ConnectorError, records: list[SyncRecord]) -> None:
        """The error class decides the outcome of the records the ledger did not answer."""
        if isinstance(error, RateLimitedError):
            self._limiter.pause(self._quota_key, error.retry_after)
            self.waits = self._retry(records, error, minimum=error.retry_after)
        elif isinstance(error, TransientError):
            self.waits = self._retry(records, error)
        elif isinstance(error, AuthError):
            _wait_for_reauth(self.connection, records, self.log, error)
        else:
            self.finishes += [_Finish(record, error=error) for record in records]

    def _retry(
        self, records: list[SyncRecord], error: TransientError, minimum: float = 0
    ) -> dict[int, float]:
        if self._alone:
            # Claimed Pending by this push, the record is still Pending: no need to look.
            (record,) = records
            wait = _retry_later(record, self.log, error, minimum=minimum)
            return {} if wait is None else {record.pk: wait}
        return _retry_all(records, self.log, error, minimum=minimum)
