"""A page's reads of the ledger (the Mappings page's lists, a connection test) count in the same
quota as the engine's pushes, on each ledger: a page waits for its place instead of spending the
calls a sync counts on, says "try again" when there is none, and a 429 it meets pauses the pushes
as one met by a push would (DESIGN §4.10)."""

import httpx
import pytest
from django.urls import reverse

from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.connectors.errors import RateLimitedError
from synclog import services
from synclog.ratelimit import get_rate_limiter
from tests.ledger_fixtures import LEDGERS, UNLIMITED, quota_spend

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]


class CountingTransport(httpx.BaseTransport):
    """The emulator's transport, keeping every request that reached it; `refuse_with` answers
    them all itself instead (a ledger's 429)."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.refuse_with: httpx.Response | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.refuse_with is not None:
            return self.refuse_with
        return self.inner.handle_request(request)


@pytest.fixture
def transport(connection, monkeypatch):
    counting = CountingTransport(integration_services.ledger.ledger_transport(connection))
    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda connection: counting
    )
    return counting


def set_limits(connection, **limits):
    connection.settings = {**connection.settings, "rate_limits": {**UNLIMITED, **limits}}
    connection.save(update_fields=["settings"])
    get_rate_limiter().reset(services.connection_quota_key(connection=connection))
    return services.connection_quota(connection=connection)


def test_each_request_of_a_page_read_counts_in_the_connections_quota(connection, transport):
    limits = set_limits(connection, per_window=1000, window_seconds=60)
    key = services.connection_quota_key(connection=connection)
    choices = integration_selectors.connection_ledger_choices(connection=connection)
    assert choices.accounts
    used, _ = get_rate_limiter().window_usage(key, limits)
    assert len(transport.requests) >= 2
    assert used == len(transport.requests)


def test_a_page_read_with_no_room_in_the_quota_sends_nothing_and_says_when(
    connection, transport, settings
):
    settings.LEDGER_PAGE_QUOTA_WAIT_SECONDS = 0.2
    set_limits(connection, per_window=3, window_seconds=60)
    quota_spend(connection, 3)  # a bulk re-sync spent the minute
    with pytest.raises(RateLimitedError) as refused:
        integration_selectors.connection_ledger_choices(connection=connection)
    assert refused.value.problem == "quota"
    assert 0 < refused.value.retry_after <= 60
    assert "try again in" in refused.value.message
    assert transport.requests == []
    # Our own "not now" does not pause the engine's pushes: they have room as soon as it frees.
    key = services.connection_quota_key(connection=connection)
    limits = services.connection_quota(connection=connection)
    assert get_rate_limiter().wait_for(key, limits) <= 60


def test_a_full_second_delays_a_page_read_instead_of_refusing_it(connection, transport):
    limits = set_limits(connection, per_window=1000, window_seconds=60, per_second=2)
    quota_spend(connection, 2)  # this second's requests are taken
    choices = integration_selectors.connection_ledger_choices(connection=connection)
    assert choices.accounts
    key = services.connection_quota_key(connection=connection)
    used, _ = get_rate_limiter().window_usage(key, limits)
    assert used == 2 + len(transport.requests)


def test_a_429_met_by_a_page_pauses_the_engines_pushes(connection, transport):
    limits = set_limits(connection, per_window=1000, window_seconds=60)
    transport.refuse_with = httpx.Response(
        429, headers={"Retry-After": "30"}, json={"Message": "rate limit"}
    )
    with pytest.raises(RateLimitedError) as refused:
        integration_selectors.connection_ledger_choices(connection=connection)
    assert refused.value.problem != "quota"
    key = services.connection_quota_key(connection=connection)
    # The next push of this quota waits out the pause the ledger asked for (Xero's Retry-After;
    # QBO gives none: 60 s; MYOB's per-second limit: a second).
    assert get_rate_limiter().wait_for(key, limits) >= refused.value.retry_after - 0.5 > 0


def test_the_mappings_page_says_to_try_again_when_the_quota_is_spent(
    connection, transport, settings, admin_client
):
    settings.LEDGER_PAGE_QUOTA_WAIT_SECONDS = 0.2
    set_limits(connection, per_window=3, window_seconds=60)
    quota_spend(connection, 3)
    page = admin_client.get(reverse("integrations:mappings", args=[connection.pk]), follow=True)
    assert page.status_code == 200
    assert "quota is in use by syncs now; try again in" in page.content.decode()
    assert transport.requests == []
