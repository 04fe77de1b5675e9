"""Requires attention's query counts: they do not grow with failures, groups or pages."""

from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents.models import Category
from synclog.models import (
    SyncRecord,
)
from synclog.selectors.attention import GROUP_PREVIEW_SIZE
from tests.factories import DocumentFactory
from tests.synclog.attention.conftest import MAPPING_MESSAGE, failed_record

# --- query counts --------------------------------------------------------------------------------


def test_query_count_does_not_grow_with_failures(member_client, org, connection):
    client = member_client()
    other_category = Category.objects.create(org=org, name="Misc", code="997")

    def queries():
        with CaptureQueriesContext(db) as captured:
            response = client.get(reverse("synclog:attention"))
        assert response.status_code == 200
        return len(captured)

    def add_failures(count, start):
        for index in range(start, start + count):
            document = DocumentFactory(
                org=org, number=f"Q-{index:03d}", status="approved", category=other_category
            )
            message = MAPPING_MESSAGE if index % 2 else "Category Misc has no Xero mapping."
            failed_record(document, connection, message=message)

    add_failures(5, 0)
    for_5 = queries()
    add_failures(45, 5)
    assert SyncRecord.objects.count() == 50
    assert queries() == for_5
    # The documents list with its tab count: fixed as well.
    with CaptureQueriesContext(db) as captured:
        client.get(reverse("documents:list"))
    assert len(captured) <= for_5 + 2


def test_query_counts_do_not_grow_with_groups_or_pages(
    member_client, org, connection, office, django_assert_max_num_queries
):
    client = member_client()

    def add_group(index, size):
        for _ in range(size):
            document = DocumentFactory(org=org, status="approved", category=office)
            failed_record(document, connection, message=f"Cause {index}.")

    add_group(0, 1)
    with CaptureQueriesContext(db) as one_group:
        client.get(reverse("synclog:attention"))
    for index in range(1, 25):  # 25 groups: two pages of groups, each a preview
        add_group(index, 2)
    add_group(99, 60)  # the largest: three pages of records
    with django_assert_max_num_queries(len(one_group)):
        page = client.get(reverse("synclog:attention"))
    assert len(page.context["groups"]) == 20
    assert len(page.context["groups"][0].records) == GROUP_PREVIEW_SIZE
    largest = page.context["groups"][0]
    url = reverse("synclog:attention-group", args=[connection.pk, largest.code, largest.digest])
    small = page.context["groups"][-1]
    small_url = reverse("synclog:attention-group", args=[connection.pk, small.code, small.digest])
    with CaptureQueriesContext(db) as small_page:
        client.get(small_url)
    with django_assert_max_num_queries(len(small_page)):
        response = client.get(url, {"page": 2})
    assert len(response.context["page"]) == 25
