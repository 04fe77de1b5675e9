"""The quota meter and a run's ETA (issue 17, item 4): the later of the quota's finish and the
service's, on the numbers the limiter counts."""

import datetime

import pytest

from synclog.ratelimit import Limits, QuotaUsage
from synclog.selectors.eta import eta_seconds

XERO = Limits(per_window=60, window_seconds=60, max_concurrent=5, per_day=5000)
MYOB = Limits(per_window=480, window_seconds=60, max_concurrent=8, per_day=1_000_000, per_second=8)


def eta(entries, limits=XERO, usage=None, rate=None, batch_size=50, batch_cost=1):
    return eta_seconds(
        entries=entries,
        batch_size=batch_size,
        batch_cost=batch_cost,
        limits=limits,
        usage=usage or QuotaUsage(),
        measured_rate=rate,
    )


def test_what_fits_in_the_window_left_takes_the_services_time():
    assert eta(0) == 0
    # 2,000 bills: 40 calls of 50, the window has 60: only the service's speed counts.
    assert eta(2000) == 0  # nothing measured yet
    assert eta(2000, rate=200.0) == pytest.approx(10.0)


def test_beyond_the_window_left_the_rest_goes_at_the_windows_steady_rate():
    # 6,000 bills: 120 calls; 60 go now, 60 more at one a second once the window rolls.
    assert eta(6000) == pytest.approx(60.0)
    spent = QuotaUsage(window_used=60, window_frees_in=50.0)
    # 1,000 bills (20 calls) with the window spent: not before its oldest call leaves (50 s).
    assert eta(1000, usage=spent) == pytest.approx(50.0)
    # ... nor faster than the window's rate: 100 calls need 100 s.
    assert eta(5000, usage=spent) == pytest.approx(100.0)


def test_a_slow_service_is_the_later_finish():
    assert eta(6000, rate=20.0) == pytest.approx(300.0)


def test_a_pause_after_a_429_comes_first():
    paused = QuotaUsage(window_used=60, window_frees_in=10.0, paused_for=30.0)
    assert eta(50, usage=paused) == pytest.approx(40.0)


def test_a_per_second_limit_paces_single_calls():
    # MYOB: no batches, 8 requests a second: 800 bills take 100 s, though the minute allows 480.
    assert eta(800, limits=MYOB, batch_size=1) == pytest.approx(100.0)


def test_a_batch_weighs_its_cost_in_the_window():
    qbo = Limits(per_window=500, window_seconds=60, max_concurrent=10, per_day=720_000)
    # 3,000 bills in batches of 30 weighing 13: 100 batches, 1,300 calls: 500 now, 800 at 500/60 s.
    assert eta(3000, limits=qbo, batch_size=30, batch_cost=13) == pytest.approx(800 / (500 / 60))


def test_beyond_the_daily_limit_there_is_no_time_to_give():
    nearly = QuotaUsage(day_used=4990)
    assert eta(1000, usage=nearly) is None
    assert eta(500, usage=nearly) == 0  # 10 calls fit


def test_finishes_at_is_now_plus_the_seconds():
    from synclog.selectors.eta import Eta

    now = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)
    assert Eta(entries=10, ahead=0, seconds=90, basis="quota", now=now).finishes_at == now.replace(
        minute=1, second=30
    )
    assert Eta(entries=10, ahead=0, seconds=None, basis="quota", now=now).finishes_at is None
