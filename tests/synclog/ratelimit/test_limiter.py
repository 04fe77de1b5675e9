"""The per-connection rate limiter in one process: both implementations run through the same
tests (the `spec` fixture, conftest.py).

Windows are short (1-2 s) and waits are asserted as values rather than slept through; where time
must pass, the test sleeps the wait the limiter returned or polls with a deadline.
"""

import time

import pytest

from synclog.ratelimit import (
    DAY_SECONDS,
    FileRateLimiter,
    Grant,
    Limits,
    QuotaUsage,
    RedisRateLimiter,
    get_rate_limiter,
)
from tests.synclog.ratelimit.conftest import TOLERANCE, WIDE, acquire_until_granted, make_limiter


def test_window_admits_exactly_n_then_waits_for_the_oldest_call_to_leave(limiter):
    limits = Limits(per_window=3, window_seconds=1.0, max_concurrent=10)
    first_at = time.time()
    grant = limiter.try_acquire("conn", limits)
    assert isinstance(grant, Grant) and grant.key == "conn"
    limiter.release(grant)
    time.sleep(0.3)
    second_at = time.time()
    for _ in range(2):
        grant = limiter.try_acquire("conn", limits)
        assert isinstance(grant, Grant)
        limiter.release(grant)

    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    # The first call leaves the window 1 s after it was made.
    assert 1.0 - (time.time() - first_at) - TOLERANCE <= wait <= 1.0 - 0.3 + TOLERANCE

    # The wait is enough: after it, one call fits, and the next waits for the 0.3 s-later calls.
    time.sleep(wait)
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    assert 1.0 - (time.time() - second_at) - TOLERANCE <= wait <= 0.3 + TOLERANCE


def test_calls_are_counted_at_once(limiter):
    limits = Limits(per_window=5, window_seconds=2.0, max_concurrent=10)
    asked_at = time.time()
    assert isinstance(limiter.try_acquire("conn", limits, calls=3), Grant)
    # 3 + 3 > 5: the two-call remainder is not enough for three.
    wait = limiter.try_acquire("conn", limits, calls=3)
    assert isinstance(wait, float)
    assert 2.0 - (time.time() - asked_at) - TOLERANCE <= wait <= 2.0
    assert isinstance(limiter.try_acquire("conn", limits, calls=2), Grant)
    assert isinstance(limiter.try_acquire("conn", limits), float)


def test_wait_for_answers_without_counting_or_holding_a_slot(limiter):
    limits = Limits(per_window=3, window_seconds=2.0, max_concurrent=1)
    for _ in range(5):
        assert limiter.wait_for("conn", limits, calls=3) == 0.0
    grant = limiter.try_acquire("conn", limits, calls=2)
    assert isinstance(grant, Grant)  # the questions took nothing
    # The one slot is held: the answer is a wait, as try_acquire's would be.
    assert limiter.wait_for("conn", limits) > 0
    limiter.release(grant)
    assert limiter.wait_for("conn", limits, calls=1) == 0.0
    assert (
        2.0 - TOLERANCE <= limiter.wait_for("conn", limits, calls=2) + TOLERANCE <= 2.0 + TOLERANCE
    )
    assert isinstance(limiter.try_acquire("conn", limits, calls=1), Grant)


def test_more_calls_than_the_window_holds_can_never_fit(limiter):
    limits = Limits(per_window=5)
    with pytest.raises(ValueError):
        limiter.try_acquire("conn", limits, calls=6)
    with pytest.raises(ValueError):
        limiter.try_acquire("conn", Limits(per_window=60, per_day=2), calls=3)
    with pytest.raises(ValueError):
        limiter.try_acquire("conn", limits, calls=0)


def test_concurrency_limit_and_release(limiter):
    limits = Limits(per_window=100, window_seconds=60, max_concurrent=3)
    grants = [limiter.try_acquire("conn", limits) for _ in range(3)]
    assert all(isinstance(g, Grant) for g in grants)
    assert len({g.token for g in grants}) == 3

    # No lease expires soon (120 s): a short wait, as holders usually release within seconds.
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float) and 0 < wait <= 0.5

    limiter.release(grants[0])
    limiter.release(grants[0])  # idempotent: does not free a second slot
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    assert isinstance(limiter.try_acquire("conn", limits), float)


def test_an_expired_lease_frees_its_slot(limiter):
    limits = Limits(per_window=100, window_seconds=60, max_concurrent=1)
    started = time.monotonic()
    held = limiter.try_acquire("conn", limits, lease_seconds=0.4)
    assert isinstance(held, Grant)  # and never released: its worker "died"

    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    assert 0.4 - (time.monotonic() - started) - TOLERANCE <= wait <= 0.4

    grant = acquire_until_granted(limiter, "conn", limits)
    assert time.monotonic() - started >= 0.4 - TOLERANCE
    limiter.release(grant)
    limiter.release(held)  # the late release of a lapsed lease is harmless


def test_pause_blocks_until_it_ends_and_reports_the_remaining_time(limiter):
    limits = Limits(per_window=100, window_seconds=60, max_concurrent=10)
    paused_at = time.time()
    limiter.pause("conn", 0.6)

    def remaining():
        return 0.6 - (time.time() - paused_at)

    upper = remaining() + TOLERANCE
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float) and remaining() - TOLERANCE <= wait <= min(upper, 0.6)

    # A shorter Retry-After arriving later does not cut the running pause.
    limiter.pause("conn", 0.1)
    time.sleep(0.2)
    upper = remaining() + TOLERANCE
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float) and remaining() - TOLERANCE <= wait <= upper

    time.sleep(wait)
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    # Other connections were never paused.
    assert isinstance(limiter.try_acquire("other", limits), Grant)


def test_the_second_admits_per_second_calls_then_waits_for_the_oldest_to_leave(limiter):
    # The minute has room for far more: only the second holds the burst back.
    limits = Limits(per_window=500, window_seconds=60, max_concurrent=100, per_second=3)
    first_at = time.time()
    assert isinstance(limiter.try_acquire("conn", limits, calls=2), Grant)
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    assert 1.0 - (time.time() - first_at) - TOLERANCE <= wait <= 1.0
    assert limiter.wait_for("conn", limits) > 0

    time.sleep(wait)
    assert isinstance(limiter.try_acquire("conn", limits, calls=3), Grant)
    # Without a per-second limit the same key's minute still has room.
    assert isinstance(
        limiter.try_acquire("conn", Limits(per_window=500, max_concurrent=100)), Grant
    )


def test_the_second_counts_requests_and_a_heavier_grant_fills_it(limiter):
    # A QBO batch request weighs 13 calls of the minute (its batch limit) but is one request.
    limits = Limits(per_window=500, window_seconds=60, max_concurrent=100, per_second=10)
    for _ in range(10):
        assert limiter.wait_for("conn", limits, calls=13, requests=1) == 0.0
        assert isinstance(limiter.try_acquire("conn", limits, calls=13, requests=1), Grant)
    assert limiter.window_usage("conn", limits)[0] == 130  # the minute counts every call
    assert limiter.wait_for("conn", limits, calls=13, requests=1) > 0
    assert isinstance(limiter.try_acquire("conn", limits, calls=13, requests=1), float)

    # Without `requests` the calls are the requests; more than a second's take all of it.
    asked_at = time.time()
    assert isinstance(limiter.try_acquire("other", limits, calls=13), Grant)
    wait = limiter.try_acquire("other", limits)
    assert isinstance(wait, float)
    assert 1.0 - (time.time() - asked_at) - TOLERANCE <= wait <= 1.0


def test_a_call_stays_in_the_second_until_a_second_after_its_release(limiter):
    # The ledger counts a request when it arrives, which may be as late as the release.
    limits = Limits(per_window=500, window_seconds=60, max_concurrent=100, per_second=2)
    grant = limiter.try_acquire("conn", limits, calls=2)
    assert isinstance(grant, Grant)
    time.sleep(0.5)  # the call being made
    releasing_at = time.time()
    limiter.release(grant)
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    # Counted from the grant, the wait would be at most 0.5 s.
    assert 1.0 - (time.time() - releasing_at) - TOLERANCE <= wait <= 1.0
    limiter.release(grant)  # a second release does not restart the second again
    time.sleep(wait)
    assert isinstance(limiter.try_acquire("conn", limits, calls=2), Grant)


def test_a_call_whose_requests_went_earlier_is_counted_in_the_second_from_when_they_went(
    limiter,
):
    # MYOB counts a request when it arrives: an answer's time after it (the emulator's 100 ms,
    # a real ledger's more) must not hold the request's place in the second longer.
    limits = Limits(per_window=500, window_seconds=60, max_concurrent=100, per_second=2)
    grant = limiter.try_acquire("conn", limits, calls=2)
    time.sleep(0.5)  # both requests went 0.4 s after the grant, answered 0.1 s later
    releasing_at = time.time()
    limiter.release(grant, sent_ago=[0.1, 0.1])
    wait = limiter.try_acquire("conn", limits)
    assert isinstance(wait, float)
    # Counted from the release, the wait would be 1 s.
    assert 0.9 - (time.time() - releasing_at) - TOLERANCE <= wait <= 0.9 + TOLERANCE
    # A grant that sent one request of the two it asked for: the other leaves with the grant's
    # second, the one sent with its own.
    grant = acquire_until_granted(limiter, "other", limits, calls=2)
    time.sleep(0.5)
    limiter.release(grant, sent_ago=[0.2])
    assert isinstance(limiter.try_acquire("other", limits), (Grant, float))


def test_daily_limit(limiter):
    limits = Limits(per_window=10, window_seconds=1.0, max_concurrent=10, per_day=4)
    assert isinstance(limiter.try_acquire("conn", limits, calls=2), Grant)
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    assert isinstance(limiter.try_acquire("conn", limits), Grant)
    wait = limiter.try_acquire("conn", limits)
    # Within the minute there is room; the day is full until the first call is 24 h old.
    assert isinstance(wait, float) and DAY_SECONDS - 5 <= wait <= DAY_SECONDS


def test_next_turn_spaces_turns_in_the_order_asked_and_a_long_wait_takes_none(limiter):
    """The paced line of bulk batches under an app-wide quota (quota.bulk_batch_countdowns)."""

    def near(wait, expected):
        return expected - TOLERANCE <= wait <= expected + TOLERANCE

    assert near(limiter.next_turn("key", 10.0), 0.0)
    assert near(limiter.next_turn("key", 10.0), 10.0)
    assert near(limiter.next_turn("key", 10.0), 20.0)
    # A batch sent back after a short wait takes the line's next turn (30 s from now)...
    assert near(limiter.next_turn("key", 10.0, not_before=5.0), 30.0)
    # ...one that must wait beyond a turn after the line's end takes none, holding nobody back.
    assert limiter.next_turn("key", 10.0, not_before=100.0) == 100.0
    assert near(limiter.next_turn("key", 10.0), 40.0)
    # An idle line's turn comes now, or at the wait asked for when that is within a turn.
    assert near(limiter.next_turn("other", 10.0, not_before=4.0), 4.0)
    assert near(limiter.next_turn("other", 10.0), 14.0)
    limiter.reset("key")
    assert near(limiter.next_turn("key", 10.0), 0.0)


def test_a_refused_caller_that_goes_first_holds_back_those_who_give_way_until_its_turn(
    limiter,
):
    """Priority in one quota (a user's re-sync before bulk batches under MYOB's app key): no
    share is kept free; the one who goes first and finds the quota full is served before those
    who give way, though room comes back before its retry does."""
    limits = Limits(per_window=100, window_seconds=60, max_concurrent=1)
    held = limiter.try_acquire("key", limits, gives_way=True)
    assert isinstance(held, Grant)  # bulk work takes the whole quota while nobody waits
    wait = limiter.try_acquire("key", limits, goes_first="record:1")
    assert isinstance(wait, float) and wait <= 0.5 + TOLERANCE  # the slot is taken
    limiter.release(held)

    # The slot is free again, but not for those who give way: the refused caller's turn and
    # its wait, then FIRST_HOLD_SECONDS more should its retry never come.
    for given_way in (
        limiter.try_acquire("key", limits, gives_way=True),
        limiter.wait_for("key", limits, gives_way=True),
    ):
        assert wait + 1.0 - TOLERANCE <= given_way <= wait + 1.0 + TOLERANCE
    # The quota itself has room: a caller that does not give way (a page's read) is served.
    other = limiter.try_acquire("key", limits)
    assert isinstance(other, Grant)
    limiter.release(other)

    assert isinstance(first := limiter.try_acquire("key", limits, goes_first="record:1"), Grant)
    limiter.release(first)
    # Served, it holds nobody back.
    assert limiter.wait_for("key", limits, gives_way=True) == 0.0
    assert isinstance(limiter.try_acquire("key", limits, gives_way=True), Grant)
    # Another key was never held back.
    assert isinstance(limiter.try_acquire("other", limits, gives_way=True), Grant)


def test_those_who_give_way_take_only_what_the_callers_waiting_to_go_first_leave(limiter):
    """Four requests a second: two callers that go first are refused (a 429's pause), asking
    two requests and one. Bulk work is then left what they do not need, no more: a whole
    second stopped for a user's push cost the key's line a turn in five (issue 15)."""
    limits = Limits(per_window=100, window_seconds=60, max_concurrent=10, per_second=4)
    limiter.pause("key", 0.3)
    assert isinstance(limiter.try_acquire("key", limits, goes_first="record:1", requests=2), float)
    assert isinstance(limiter.try_acquire("key", limits, goes_first="record:2"), float)
    first = acquire_until_granted(limiter, "key", limits, goes_first="record:1", requests=2)
    # Two requests in the second, and record:2 waits for one: bulk work may take the third.
    assert limiter.wait_for("key", limits, gives_way=True) == 0.0
    assert isinstance(limiter.try_acquire("key", limits, gives_way=True), Grant)
    # Not the fourth, though the second has room for it: record:2's.
    refused = limiter.try_acquire("key", limits, gives_way=True)
    assert isinstance(refused, float) and refused > 0.5
    limiter.release(first)
    assert isinstance(limiter.try_acquire("key", limits, goes_first="record:2"), Grant)
    # Served, record:2 is left no more room: the second is full for everyone.
    assert isinstance(limiter.try_acquire("key", limits, gives_way=True), float)
    assert limiter.usage("key", limits).second_used == 4


def test_a_caller_that_goes_first_and_never_comes_back_holds_nobody_for_long(limiter, monkeypatch):
    monkeypatch.setattr("synclog.ratelimit.file_limiter.FIRST_HOLD_SECONDS", 0.2)
    monkeypatch.setattr("synclog.ratelimit.redis_limiter.FIRST_HOLD_SECONDS", 0.2)
    limits = Limits(per_window=1, window_seconds=0.2, max_concurrent=10)
    limiter.release(limiter.try_acquire("key", limits))
    wait = limiter.try_acquire("key", limits, goes_first="record:1")
    assert isinstance(wait, float) and wait <= 0.2 + TOLERANCE
    held_back = limiter.wait_for("key", limits, gives_way=True)
    assert wait + 0.2 - TOLERANCE <= held_back <= wait + 0.2 + TOLERANCE
    # Its wait and the hold pass: bulk work goes, though record:1 never asked again.
    assert isinstance(
        acquire_until_granted(limiter, "key", limits, deadline_seconds=3, gives_way=True), Grant
    )
    limiter.reset("key")
    # reset forgets those who wait too.
    limiter.release(limiter.try_acquire("key", limits))
    assert isinstance(limiter.try_acquire("key", limits, goes_first="record:1"), float)
    limiter.reset("key")
    assert isinstance(limiter.try_acquire("key", limits, gives_way=True), Grant)


def test_keys_are_independent_and_reset_forgets_a_key(limiter):
    limits = Limits(per_window=1, window_seconds=60, max_concurrent=1)
    assert isinstance(limiter.try_acquire("a", limits), Grant)
    assert isinstance(limiter.try_acquire("a", limits), float)
    assert isinstance(limiter.try_acquire("b", limits), Grant)
    limiter.pause("a", 30)
    limiter.reset("a")
    assert isinstance(limiter.try_acquire("a", limits), Grant)
    assert isinstance(limiter.try_acquire("b", limits), float)


@pytest.mark.parametrize("spec", ["redis"], indirect=True)
def test_redis_keys_expire_so_idle_connections_vanish(spec):
    limiter = make_limiter(spec)
    limits = Limits(per_window=5, window_seconds=2.0)
    limiter.try_acquire("conn", limits, lease_seconds=3)
    limiter.pause("conn", 4)
    # Refused for the pause, a caller that goes first is held for its wait and a second more.
    limiter.try_acquire("conn", limits, goes_first="record:1")
    keys = list(limiter.redis.scan_iter(match=f"{spec[2]}*"))
    assert len(keys) == 5
    ttls = {key.decode().rsplit(":", 1)[1]: limiter.redis.pttl(key) for key in keys}
    assert 2000 < ttls["win"] <= 3000
    assert 86_400_000 < ttls["day"] <= 86_401_000
    assert 3000 < ttls["holders"] <= 4000
    assert 3000 < ttls["pause"] <= 4000
    assert 5000 < ttls["first"] <= 6000


@pytest.mark.parametrize("spec", ["file"], indirect=True)
def test_file_limiter_removes_the_state_of_a_reset_key(spec):
    limiter = make_limiter(spec)
    limiter.try_acquire("conn/with:odd chars", Limits())
    assert len(list(limiter.directory.glob("*.json"))) == 1
    limiter.reset("conn/with:odd chars")
    assert list(limiter.directory.glob("*.json")) == []


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(max_concurrent=0)
    with pytest.raises(ValueError):
        Limits(window_seconds=0)
    with pytest.raises(ValueError):
        Limits(per_second=0)


def test_get_rate_limiter_follows_settings(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    limiter = get_rate_limiter()
    assert isinstance(limiter, FileRateLimiter)
    assert limiter.directory == tmp_path / "ratelimit"
    assert get_rate_limiter() is limiter  # cached per process

    settings.REDIS_URL = "redis://127.0.0.1:6379/7"
    limiter = get_rate_limiter()
    assert isinstance(limiter, RedisRateLimiter)
    assert get_rate_limiter() is limiter


def test_release_pause_and_next_turn_survive_a_redis_outage():
    """Asked after the ledger has answered and before the answer is saved, or while sending
    tasks: with Redis away they must not raise (the slot frees at its lease end; a pause not
    set costs another 429)."""
    import socket

    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(client)
    with pytest.raises(redis.ConnectionError):
        limiter.try_acquire("k", WIDE, calls=1, lease_seconds=1)  # nothing is granted blind
    limiter.release(Grant(key="k", token="t"))
    limiter.release(Grant(key="k", token="t"), sent_ago=[0.1])
    limiter.pause("k", 5)
    # A paced send goes unpaced (its run asks the quota itself) rather than not at all.
    assert limiter.next_turn("k", 0.2, not_before=1.5) == 1.5


def test_window_usage_counts_the_window_and_when_its_oldest_call_leaves(limiter):
    limits = Limits(per_window=5, window_seconds=2.0, max_concurrent=10)
    assert limiter.window_usage("api", limits) == (0, 0.0)
    for calls in (1, 2):
        limiter.release(limiter.try_acquire("api", limits, calls=calls))
    used, reset = limiter.window_usage("api", limits)
    assert used == 3
    assert 2.0 - TOLERANCE <= reset <= 2.0
    # Reading counts nothing.
    assert limiter.window_usage("api", limits)[0] == 3


def test_usage_counts_window_day_second_and_a_pause_without_counting(limiter):
    limits = Limits(per_window=10, window_seconds=60, max_concurrent=5, per_day=100, per_second=9)
    assert limiter.usage("meter", limits) == QuotaUsage()
    for _ in range(3):
        limiter.release(limiter.try_acquire("meter", limits, calls=2, requests=1))
    usage = limiter.usage("meter", limits)
    assert (usage.window_used, usage.day_used, usage.second_used) == (6, 6, 3)
    assert 59 < usage.window_frees_in <= 60
    assert usage.paused_for == 0
    limiter.pause("meter", 30)
    usage = limiter.usage("meter", limits)
    assert 29 < usage.paused_for <= 30
    assert limiter.usage("meter", limits).window_used == 6  # reading counts nothing
