"""What a connection's ledger allows, as its connector declares it: capabilities, the quota the
engine keeps to (with the connection's own overrides) and the key that quota is counted under."""

import dataclasses
import logging
import time

from integrations.connectors import connector_class_for
from integrations.connectors.errors import RateLimitedError
from integrations.connectors.types import Capabilities
from integrations.models import Connection
from synclog.ratelimit import Grant, Limits, get_rate_limiter

logger = logging.getLogger(__name__)

# A page's request holds a concurrency slot only until it is counted (released at once).
PAGE_REQUEST_LEASE_SECONDS = 30.0


def _provider_caps(provider: str) -> Capabilities:
    return connector_class_for(provider).capabilities


def _caps(connection: Connection) -> Capabilities:
    """What the connection's ledger allows and what its calls cost, as its connector says."""
    return _provider_caps(connection.provider)


def connection_quota(*, connection: Connection) -> Limits:
    """The quota the engine keeps to for a connection (its ledger's, or its own setting's)."""
    return _limits(connection)


def _limits(connection: Connection) -> Limits:
    """The ledger's declared quota, with what the connection's settings override (tests, or a
    ledger plan with other limits)."""
    caps = _caps(connection)
    declared = Limits(
        per_window=caps.per_minute,
        window_seconds=60.0,
        max_concurrent=caps.max_concurrent,
        per_day=caps.per_day,
        per_second=caps.per_second,
    )
    configured = connection.settings.get("rate_limits") or {}
    allowed = {f.name for f in dataclasses.fields(Limits)}
    try:
        return dataclasses.replace(
            declared, **{key: value for key, value in configured.items() if key in allowed}
        )
    except (TypeError, ValueError):
        logger.warning("Ignoring invalid rate_limits on connection %s", connection.pk)
        return declared


def _gives_way(connection: Connection) -> bool:
    """Whether bulk work (bulk batches, the reconcile) gives way in the connection's quota to a
    push that goes first (a user's re-sync, a change pushed as it happens; ledger_call): under
    an app-wide quota (MYOB: 8 calls a second for our API key, every organisation together)
    every organisation's backlog shares the key, and such a push must not race a queue of
    batches for each freed request (issue 15, item 3). Bulk work takes from the same quota,
    all of it, instead of leaving a fixed share free: refused, the push is left the room it
    asked for (its requests of the second) until it has had its turn, bulk work taking the
    rest (RateLimiter.try_acquire). A tenant's own quota has no such line (its bulk work is
    its own)."""
    return _caps(connection).quota_scope == "app"


def _goes_first(connection: Connection, records) -> str:
    """The name a push that is not bulk work waits under, the same across its retries."""
    if not _gives_way(connection):
        return ""
    return f"record:{min(record.pk for record in records)}"


def bulk_batch_countdowns(
    *, connection: Connection, batches: int, not_before: float = 0.0
) -> list[float]:
    """Seconds after which each of the connection's next `batches` bulk batches should run.

    Under an app-wide quota every organisation's batches take turns in one paced line, spaced
    by what one batch spends of the quota, less one request a second (MYOB: 7 of the key's 8
    a second), so that each finds its request free when it runs. Sent at once, the batches of
    twenty organisations woke together, one in eight found the quota free and the others went
    back with a countdown: two task runs in three made no call (issue 15). Paced at the whole
    rate, a third still would: batches run late by a busy machine bunch up, and a user's push
    and a connector's first reads count in the same second; that request a second is their
    room. A batch sent again after a wait (`not_before` seconds) takes the line's next turn if
    that comes soon enough. A tenant's own quota is not paced: its few batches in flight find
    its room themselves."""
    if _caps(connection).quota_scope != "app":
        return [not_before] * batches
    limits = _limits(connection)
    cost = _caps(connection).batch_call_cost
    per_second = limits.per_second or 0
    paced = per_second - 1 if per_second > 2 else per_second
    interval = cost * limits.window_seconds / limits.per_window
    if paced:
        interval = max(interval, 1.0 / paced)
    limiter, key = get_rate_limiter(), f"{_quota_key(connection)}:bulk"
    return [limiter.next_turn(key, interval, not_before=not_before) for _ in range(batches)]


def _setup_requests(connection: Connection) -> int:
    """Reads a push's connector makes before the push's own (MYOB: the company file's accounts
    and tax codes, once a process), which the ledger counts like any other call."""
    return connector_class_for(connection.provider).requests_before_push(
        base_url=connection.base_url, tenant_id=connection.tenant_id
    )


def connection_quota_key(*, connection: Connection) -> str:
    """The key the connection's quota is counted under: its own where the ledger counts calls
    per tenant, its ledger's where it counts one quota for the app key (quota_scope "app"),
    which every connection to that ledger, of every organisation, shares."""
    if _caps(connection).quota_scope == "app":
        return f"provider:{connection.provider}"
    return f"connection:{connection.pk}"


def _quota_key(connection: Connection) -> str:
    return connection_quota_key(connection=connection)


def connection_quota_take_request(*, connection: Connection, wait_seconds: float) -> None:
    """Count one request made outside the engine (a page reading the ledger's lists) in the
    connection's quota, waiting up to `wait_seconds` for room in it. Raises RateLimitedError
    when there is none by then: a page's read must not spend the calls a sync in flight counts
    on, nor bring on the ledger's 429, which pauses every push of the key (QBO: a minute)."""
    limiter = get_rate_limiter()
    key, limits = _quota_key(connection), _limits(connection)
    if limits.per_second and limits.per_second > 1:
        # A page leaves one request of each second free: for the push a person is waiting for
        # next, and for the consent's own read, which no connection's quota counted yet.
        limits = dataclasses.replace(limits, per_second=limits.per_second - 1)
    deadline = time.monotonic() + wait_seconds
    while True:
        grant = limiter.try_acquire(key, limits, calls=1, lease_seconds=PAGE_REQUEST_LEASE_SECONDS)
        if isinstance(grant, Grant):
            # Counted now; the rolling second keeps counting it until a second after release.
            limiter.release(grant)
            return
        wait = float(grant)
        if time.monotonic() + wait > deadline:
            raise RateLimitedError(
                f"The ledger's call quota is in use by syncs now; try again in {wait:.0f} s.",
                retry_after=wait,
                problem="quota",
                explanation="Every call to the ledger counts against the quota it allows "
                "(per second, minute and day), and the syncs in progress are using it; reading "
                "the ledger now would make it refuse their calls.",
                hint="Reload the page in a moment.",
            )
        time.sleep(wait)


def connection_quota_pause(*, connection: Connection, seconds: float) -> None:
    """The ledger refused a call for its rate limit: nobody calls it for `seconds` (Retry-After),
    pushes and pages alike."""
    get_rate_limiter().pause(_quota_key(connection), seconds)
