"""Staged expense datasets (Codat's model): a pushed dataset waits for the sync that names it,
and that sync pushes it on the batched path; organisations may keep syncing on push."""

import contextlib
import math

import pytest

from accounts.models import DatasetSync
from synclog import tasks
from synclog.models import RecordStatus, SyncRecord
from tests.api.test_datasets import expense, push

pytestmark = pytest.mark.django_db


def work(batches, capture=None):
    """Play the workers: run every batch sent, as a worker does; a batch's end sends its
    connection's next one (a connection has SYNC_BULK_BATCHES_IN_FLIGHT in the broker) once
    `capture` runs what waits for the commit."""
    while batches:
        with capture(execute=True) if capture else contextlib.nullcontext():
            tasks.sync_batch(batches.pop(0))


def start_sync(api, dataset_id, capture):
    with capture(execute=True):
        response = api.post("/api/v1/syncs", {"dataset_ids": [dataset_id]}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_dataset_is_held_until_its_sync_which_pushes_it_in_batches(
    api,
    category,
    connection,
    ledger,
    enqueued,
    batches,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SYNC_BATCH_SIZE = 4
    with django_capture_on_commit_callbacks(execute=True):
        body = push(api, [expense(n, category) for n in range(1, 11)]).json()
    assert body["status"] == "staged"
    assert body["counts"] == {
        "staged": 10,
        "not_synced": 0,
        "pending": 0,
        "complete": 0,
        "failed": 0,
    }
    # Held: no record, no task, nothing at the ledger.
    assert (SyncRecord.objects.count(), enqueued, batches, ledger.invoices()) == (0, [], [], [])

    sync_id = start_sync(api, body["id"], django_capture_on_commit_callbacks)
    # Two batches in the broker, the third waits for one of them to end.
    assert [len(batch) for batch in batches] == [4, 4]
    assert enqueued == []  # nothing one by one
    # Pushed while the sync runs: it waits for the next sync.
    with django_capture_on_commit_callbacks(execute=True):
        later = push(api, [expense(n, category) for n in range(11, 14)]).json()
    assert later["status"] == "staged" and len(batches) == 2

    calls_before = ledger.call_count()
    work(batches, django_capture_on_commit_callbacks)
    assert ledger.call_count() - calls_before <= 2 * math.ceil(10 / 4)
    sync = api.get(f"/api/v1/syncs/{sync_id}").json()
    assert (sync["status_code"], sync["counts"]["pushed"], sync["counts"]["total"]) == (
        2000,
        10,
        10,
    )
    assert len(ledger.invoices()) == 10
    read = api.get(f"/api/v1/expense-datasets/{body['id']}").json()
    assert (read["status"], read["counts"]["complete"]) == ("sync_requested", 10)
    assert api.get(f"/api/v1/expense-datasets/{later['id']}").json()["counts"]["staged"] == 3

    # The next sync takes the later dataset, and only it.
    next_id = start_sync(api, later["id"], django_capture_on_commit_callbacks)
    work(batches, django_capture_on_commit_callbacks)
    sync = api.get(f"/api/v1/syncs/{next_id}").json()
    assert (sync["status_code"], sync["counts"]["total"]) == (2000, 3)
    assert len(ledger.invoices()) == 13


def test_an_edit_before_the_sync_does_not_push_a_held_item(
    api, category, connection, enqueued, django_capture_on_commit_callbacks
):
    body = push(api, [expense(1, category)]).json()
    document_id = body["items"][0]["document_id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/v1/documents/{document_id}", {"due_date": "2026-12-01"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert (SyncRecord.objects.count(), enqueued) == (0, [])


def test_500_items_ingest_in_bounded_queries_and_sync_in_few_ledger_calls(
    api,
    org,
    category,
    connection,
    ledger,
    batches,
    settings,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    settings.SYNC_BATCH_SIZE = 50
    items = [
        expense(n, category, merchant_name=f"Merchant {n % 40}", notes=f"Trip {n}")
        for n in range(500)
    ]
    push(api, [expense(9999, category)])  # a warm process, as a running server is
    # The same count for 5 items or 500: every write is a bulk one. (Its time is a figure for
    # bench/, not an assertion: a timed test fails on a busy machine.)
    with django_assert_max_num_queries(40):
        response = push(api, items)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["counts"]["staged"] == 500

    # The warm-up dataset stays held: only the named one syncs.
    sync_id = start_sync(api, body["id"], django_capture_on_commit_callbacks)
    assert len(batches) == settings.SYNC_BULK_BATCHES_IN_FLIGHT  # the rest as these end
    calls_before = ledger.call_count()
    work(batches, django_capture_on_commit_callbacks)
    calls = ledger.call_count() - calls_before
    assert calls <= 2 * math.ceil(500 / 50), calls
    sync = api.get(f"/api/v1/syncs/{sync_id}").json()
    assert (sync["status_code"], sync["counts"]["pushed"]) == (2000, 500)
    assert len(ledger.invoices()) == 500


def test_an_organisation_that_syncs_on_push_keeps_it(
    api, org, category, connection, ledger, enqueued, drain, django_capture_on_commit_callbacks
):
    org.dataset_sync = DatasetSync.ON_PUSH
    org.save(update_fields=["dataset_sync"])
    assert api.get("/api/v1/organization").json()["dataset_sync"] == "on_push"
    with django_capture_on_commit_callbacks(execute=True):
        body = push(api, [expense(1, category), expense(2, category)]).json()
    assert body["status"] == "accepted"
    assert body["counts"]["pending"] == 2
    # One task per item, as approval of any document sends it.
    assert sorted(pk for pk, _, _ in enqueued) == sorted(
        SyncRecord.objects.filter(status=RecordStatus.PENDING).values_list("pk", flat=True)
    )
    drain()
    after = api.get(f"/api/v1/expense-datasets/{body['id']}").json()
    assert after["counts"]["complete"] == 2


def test_the_organisation_setting_is_readable_over_the_api(api, other_api, org):
    body = api.get("/api/v1/organization").json()
    assert (body["name"], body["dataset_sync"]) == (org.name, "staged")
    assert other_api.get("/api/v1/organization").json()["name"] != org.name


def test_an_admin_sets_sync_on_push_in_django_admin(client, django_user_model, api, org):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    url = f"/admin/accounts/organization/{org.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"Each item syncs as soon as it is pushed" in page.content
    response = client.post(
        url,
        {
            "name": org.name,
            "slug": org.slug,
            "currency": org.currency,
            "dataset_sync": "on_push",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert api.get("/api/v1/organization").json()["dataset_sync"] == "on_push"
