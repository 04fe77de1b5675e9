"""syncsvc.display writes what intcomma, the date filter and reverse() write, for less CPU."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from syncsvc.display import grouped, minute, url_pattern


@pytest.mark.parametrize(
    "value",
    [
        0,
        7,
        999,
        1000,
        -1234567,
        Decimal("0.00"),
        Decimal("885.34"),
        Decimal("-1234.50"),
        Decimal("999999999999.99"),
        Decimal("1E+3"),
        Decimal("0.5"),
    ],
)
def test_grouped_writes_what_intcomma_writes(value):
    assert grouped(value) == intcomma(value)


@pytest.mark.parametrize("zone", ["UTC", "Australia/Sydney", "America/New_York"])
def test_minute_writes_what_the_date_filter_writes_in_the_active_zone(zone):
    instant = datetime.datetime(2026, 12, 5, 23, 57, 41, tzinfo=datetime.UTC)
    template = Template('{{ instant|date:"Y-m-d H:i" }}')
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        assert minute(instant) == template.render(Context({"instant": instant}))


def test_url_pattern_gives_each_rows_own_path():
    retry = url_pattern("synclog:attention-chain-retry", args=2)
    assert retry.format(3, 797586) == reverse("synclog:attention-chain-retry", args=[3, 797586])
    detail = url_pattern("documents:detail")
    assert detail.format(12) == reverse("documents:detail", args=[12])
