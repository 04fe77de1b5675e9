"""Requires attention: a retry of exactly a group's documents, refused on a disabled connection."""

from django.urls import reverse

from integrations.models import ConnectionStatus
from synclog.models import (
    StatusCode,
    SyncRecord,
    SyncRun,
    Trigger,
)
from tests.factories import DocumentFactory
from tests.synclog.attention.conftest import failed_record

# --- retry ---------------------------------------------------------------------------------------


def test_retry_makes_a_run_of_exactly_the_groups_documents_and_the_fix_clears_it(
    member_client, org, connection, drain, ledger_books, two_causes, travel
):
    travel_bills, sundries_bills, fine = two_causes
    client = member_client()
    travel_group = client.get(reverse("synclog:attention")).context["groups"][0]
    args = [connection.pk, travel_group.code, travel_group.digest]
    # The fix: map Travel to an account of Xero's chart.
    travel.code = "493"
    travel.save()
    ledger_books.map_categories(connection)

    response = client.post(reverse("synclog:attention-retry", args=args))
    run = SyncRun.objects.get(trigger=Trigger.RETRY)
    assert response.status_code == 302
    assert response.url == reverse("synclog:bulk-progress", args=[run.public_id])
    assert run.connection == connection
    assert set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True)) == {
        d.pk for d in travel_bills
    }
    drain()
    run.refresh_from_db()
    assert (run.pushed, run.failed, run.status_code) == (3, 0, StatusCode.SUCCESS)
    groups = client.get(reverse("synclog:attention")).context["groups"]
    assert [(g.count, g.message) for g in groups] == [(2, "Category Sundries has no Xero mapping.")]
    # The emptied group's page says so; retrying it again starts nothing.
    assert (
        b"Nothing left in this group."
        in client.get(reverse("synclog:attention-group", args=args)).content
    )
    client.post(reverse("synclog:attention-retry", args=args))
    assert SyncRun.objects.filter(trigger=Trigger.RETRY).count() == 1


def test_retry_on_a_disabled_connection_is_refused(member_client, org, connection, office):
    document = DocumentFactory(org=org, status="approved", category=office)
    failed_record(document, connection)
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    client = member_client()
    (group,) = client.get(reverse("synclog:attention")).context["groups"]
    assert not group.retryable
    args = [connection.pk, group.code, group.digest]
    response = client.post(reverse("synclog:attention-retry", args=args), follow=True)
    assert b"reconnect or enable it before retrying" in response.content
    assert not SyncRun.objects.exists()
