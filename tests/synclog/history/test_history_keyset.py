"""Sync History past COUNT_LIMIT matching records: not counted, paged Newest / Newer / Older /
Oldest from cursors, and the page says so (the limit and the page size are lowered here)."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from synclog.models import SyncRecord
from synclog.views import history as views
from syncsvc import paging
from tests.synclog.history import make_connection, make_record
from tests.synclog.history.conftest import HISTORY, count_queries_for, row_ids


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(paging, "COUNT_LIMIT", 4)
    monkeypatch.setattr(views, "PAGE_SIZE", 3)


def failed_bills(org, n: int) -> list[int]:
    """n Failed bills, two failed at each moment (ties on the sync date go by id); their ids
    newest first, the page's order."""
    xero = make_connection(org)
    now = timezone.now()
    for index in range(n):
        record = make_record(connection=xero)
        SyncRecord.objects.filter(pk=record.pk).update(
            updated_at=now - datetime.timedelta(minutes=index // 2)
        )
    return list(SyncRecord.objects.order_by("-updated_at", "-id").values_list("pk", flat=True))


def link(response, param: str) -> dict:
    """The query of the page's link that carries `param` (None if the page has none)."""
    found = re.search(rf'href="\?([^"]*\b{param}=[^"]*)"', response.content.decode())
    if found is None:
        return None
    return dict(pair.split("=", 1) for pair in html.unescape(found[1]).split("&"))


def get(client, query: dict):
    from urllib.parse import unquote

    response = client.get(HISTORY, {k: unquote(v) for k, v in query.items()})
    assert response.status_code == 200
    return response


def test_up_to_the_limit_the_pages_are_counted_and_numbered(signed_in, org):
    failed_bills(org, 4)
    response = signed_in.get(HISTORY)
    text = response.content.decode()
    assert "Records 1–3 of 4" in text and "Page 1 of 2" in text
    assert "more than" not in text


def test_past_the_limit_the_pages_go_newer_and_older_and_say_so(signed_in, org):
    order = failed_bills(org, 8)
    first = signed_in.get(HISTORY)
    text = re.sub(r"\s+", " ", first.content.decode())
    assert "3 of more than 4 records, newest first" in text
    assert "too many to count on every page" in text
    assert "Select all matching (more than 4)" in text
    assert 'data-total-label="more than 4"' in text
    assert row_ids(first) == order[0:3]
    assert link(first, "before") is None and link(first, "oldest") is not None

    second = get(signed_in, link(first, "after"))
    assert row_ids(second) == order[3:6]
    third = get(signed_in, link(second, "after"))
    assert row_ids(third) == order[6:8]
    assert link(third, "after") is None and link(third, "oldest") is None
    back = get(signed_in, link(third, "before"))
    assert row_ids(back) == order[3:6]
    assert row_ids(get(signed_in, link(back, "before"))) == order[0:3]
    oldest = get(signed_in, link(first, "oldest"))
    assert row_ids(oldest) == order[5:8]
    assert row_ids(get(signed_in, link(oldest, "before"))) == order[2:5]
    # The filters ride along on every link.
    assert link(first, "after")["status"] == "failed"


def test_a_bad_cursor_or_one_past_the_newest_is_the_newest_page(signed_in, org):
    order = failed_bills(org, 8)
    assert row_ids(signed_in.get(HISTORY, {"after": "not-a-cursor"})) == order[0:3]
    assert row_ids(signed_in.get(HISTORY, {"before": "2100-01-01T00:00:00+00:00~1"})) == order[0:3]


def test_keyset_pages_read_a_constant_number_of_queries(signed_in, org):
    failed_bills(org, 8)
    first = signed_in.get(HISTORY)
    after = {k: v for k, v in link(first, "after").items()}
    counts = {
        count_queries_for(signed_in, {}),
        count_queries_for(signed_in, {"oldest": "1"}),
        count_queries_for(signed_in, {**after, "after": html.unescape(after["after"])}),
    }
    assert len(counts) == 1


def test_select_all_matching_still_acts_on_every_record(signed_in, org):
    order = failed_bills(org, 8)
    response = signed_in.post(
        reverse("synclog:history-update-status"),
        {"scope": "matching", "to_status": "pending", "tab": "bill", "status": "failed"},
    )
    assert response.status_code == 302
    assert SyncRecord.objects.filter(pk__in=order, status=0).count() == 8
