"""The Documents list past DOCUMENT_COUNT_LIMIT matching documents: not counted, paged Newest /
Newer / Older / Oldest from cursors (the issue date and id of a page's edge), as Sync History
is, with its filters (the sync status among them) on every link; up to the limit counted and
numbered as before. The limit and the page size are lowered here."""

import datetime
import html
import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents import selectors, views
from documents.models import Document, DocumentStatus
from synclog.models import RecordStatus
from tests.documents.test_sync_status import connect, doc, record

LIST = reverse("documents:list")


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(selectors, "DOCUMENT_COUNT_LIMIT", 4)
    monkeypatch.setattr(views, "PAGE_SIZE", 3)


def dated(org, n: int, prefix: str = "D") -> list[str]:
    """n approved documents, two issued on each day (ties on the date go by id); their numbers
    newest first, the list's order."""
    for index in range(n):
        document = doc(org, f"{prefix}-{index}")
        Document.objects.filter(pk=document.pk).update(
            issue_date=datetime.date(2026, 11, 20) - datetime.timedelta(days=index // 2)
        )
    return list(
        Document.objects.filter(org=org, number__startswith=f"{prefix}-")
        .order_by("-issue_date", "-id")
        .values_list("number", flat=True)
    )


def numbers(response) -> list[str]:
    return [
        number
        for _, number in re.findall(r'data-document-id="(\d+)".*?>([\w-]+)</a>', text(response))
    ]


def text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def link(response, param: str) -> dict | None:
    """The query of the page's link that carries `param` (None if the page has none)."""
    found = re.search(rf'href="\?([^"]*\b{param}=[^"]*)"', response.content.decode())
    if found is None:
        return None
    return dict(pair.split("=", 1) for pair in html.unescape(found[1]).split("&"))


def follow(client, query: dict):
    from urllib.parse import unquote

    return client.get(LIST, {key: unquote(value) for key, value in query.items()})


def test_up_to_the_limit_the_documents_are_counted_and_numbered(admin_client, org):
    order = dated(org, 4)
    first = admin_client.get(LIST)
    assert "4 documents" in text(first) and "Page 1 of 2" in text(first)
    assert "more than" not in text(first)
    assert numbers(first) == order[0:3]
    assert 'data-bulk-total="4"' in text(first) and "data-bulk-total-label" not in text(first)
    assert numbers(admin_client.get(LIST, {"page": 2})) == order[3:4]


def test_past_the_limit_the_pages_go_newer_and_older_and_say_so(admin_client, org):
    order = dated(org, 8)
    first = admin_client.get(LIST)
    page = text(first)
    assert "3 of more than 4 documents, newest first" in page
    assert "too many to count on every page" in page
    assert "Select all documents matching this filter (more than 4)" in page
    assert 'data-bulk-total="5" data-bulk-total-label="more than 4"' in page
    assert numbers(first) == order[0:3]
    assert link(first, "before") is None and link(first, "oldest") is not None

    second = follow(admin_client, link(first, "after"))
    assert numbers(second) == order[3:6]
    third = follow(admin_client, link(second, "after"))
    assert numbers(third) == order[6:8]
    assert link(third, "after") is None and link(third, "oldest") is None
    back = follow(admin_client, link(third, "before"))
    assert numbers(back) == order[3:6]
    assert numbers(follow(admin_client, link(back, "before"))) == order[0:3]
    oldest = follow(admin_client, link(first, "oldest"))
    assert numbers(oldest) == order[5:8]
    assert numbers(follow(admin_client, link(oldest, "before"))) == order[2:5]


def test_the_sync_status_filter_rides_along_and_another_organisation_never_shows(
    admin_client, org, other_org
):
    xero = connect(org)
    failed = dated(org, 7, "F")
    for document in Document.objects.filter(org=org, number__startswith="F-"):
        record(xero, document, RecordStatus.FAILED, error="Account code 429 is archived.")
    for document in Document.objects.filter(org=org, number__in=dated(org, 3, "C")):
        record(xero, document, RecordStatus.COMPLETE)
    # Another organisation's failed documents, on the same dates: never on this list.
    theirs = connect(other_org, "Theirs")
    for index in range(6):
        record(theirs, doc(other_org, f"THEIRS-{index}"), RecordStatus.FAILED, error="x")

    seen, query = [], {"sync_state": "failed"}
    for _ in range(5):
        response = follow(admin_client, query)
        assert "of more than 4 documents" in text(response)
        seen += numbers(response)
        query = link(response, "after")
        if query is None:
            break
        assert query["sync_state"] == "failed"  # the filter rides along
    assert seen == failed
    # Counted below the limit, the same filter on fewer documents is numbered again.
    assert '<p class="muted">3 documents</p>' in text(
        admin_client.get(LIST, {"sync_state": "in_ledger"})
    )


def test_a_bad_cursor_or_one_past_either_end_is_the_newest_page(admin_client, org):
    order = dated(org, 8)
    assert numbers(admin_client.get(LIST, {"after": "not-a-cursor"})) == order[0:3]
    assert numbers(admin_client.get(LIST, {"after": "2026-13-01~1"})) == order[0:3]
    assert numbers(admin_client.get(LIST, {"before": "2100-01-01~1"})) == order[0:3]
    assert numbers(admin_client.get(LIST, {"after": "1900-01-01~1"})) == order[0:3]


@pytest.mark.parametrize("state", ["", "failed", "drifted", "not_pushed", "pending", "in_ledger"])
def test_every_page_reads_the_same_queries(admin_client, org, state):
    xero = connect(org)
    for index, document in enumerate(Document.objects.filter(number__in=dated(org, 12))):
        status = [RecordStatus.FAILED, RecordStatus.PENDING, RecordStatus.COMPLETE][index % 3]
        record(xero, document, status, error="Changed in Xero" if index % 2 else "Refused")
    doc(org, "DRAFT", DocumentStatus.DRAFT)
    first = admin_client.get(LIST, {"sync_state": state} if state else {})
    pages = [
        {"sync_state": state},
        {"sync_state": state, "oldest": "1"},
        {"sync_state": state, "page": "2"},
    ]
    if link(first, "after"):
        pages.append({key: html.unescape(value) for key, value in link(first, "after").items()})
    counts = set()
    for query in pages:
        with CaptureQueriesContext(db) as queries:
            assert follow(admin_client, query).status_code == 200
        counts.add(len(queries))
    assert len(counts) == 1, counts
