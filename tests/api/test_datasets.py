"""Expense datasets: push a batch of expense transactions, read it back with each item's status."""

import pytest

from accounts.models import DatasetSync
from api.models import ExpenseDataset
from documents.models import Contact, Document, DocumentKind, DocumentStatus
from tests.api.conftest import error_fields

pytestmark = pytest.mark.django_db


def expense(n: int, in_category, **overrides) -> dict:
    item = {
        "id": f"txn-{n:04d}",
        "issue_date": "2026-11-03",
        "currency": "EUR",
        "merchant_name": "Café Central",
        "category": in_category.pk,
        "lines": [{"description": f"Lunch {n}", "unit_amount": f"{10 + n}.50"}],
    }
    return {**item, **overrides}


def push(api, items):
    return api.post("/api/v1/expense-datasets", {"items": items}, format="json")


def test_push_a_batch_and_read_it(api, org, category, vendor):
    items = [
        expense(1, category),
        expense(2, category, merchant_name="café central"),  # the same vendor, any case
        expense(3, category, contact=vendor.pk, merchant_name="", reference="R-3", notes="Taxi"),
    ]
    response = push(api, items)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["item_count"]) == ("staged", 3)
    assert body["counts"] == {
        "staged": 3,
        "not_synced": 0,
        "pending": 0,
        "complete": 0,
        "failed": 0,
    }
    assert [item["transaction_id"] for item in body["items"]] == [
        "txn-0001",
        "txn-0002",
        "txn-0003",
    ]
    assert {item["document_status"] for item in body["items"]} == {"approved"}

    documents = Document.objects.filter(org=org, kind=DocumentKind.EXPENSE).order_by("pk")
    assert [d.number for d in documents] == ["txn-0001", "txn-0002", "R-3"]
    assert [str(d.total) for d in documents] == ["11.50", "12.50", "13.50"]
    assert documents[2].contact == vendor and documents[2].description == "Taxi"
    assert documents[0].contact == documents[1].contact
    assert Contact.objects.filter(org=org, name="Café Central").count() == 1
    assert documents[0].due_date == documents[0].issue_date

    read = api.get(f"/api/v1/expense-datasets/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body
    listed = api.get("/api/v1/expense-datasets").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]


def test_items_sync_and_their_status_follows(api, org, category, connection, drain):
    org.dataset_sync = DatasetSync.ON_PUSH  # (staged datasets: test_datasets_staged.py)
    org.save(update_fields=["dataset_sync"])
    body = push(api, [expense(1, category), expense(2, category)]).json()
    assert body["counts"]["pending"] == 2
    assert body["items"][0]["records"][0]["status"] == "pending"
    drain()
    after = api.get(f"/api/v1/expense-datasets/{body['id']}").json()
    assert after["counts"] == {
        "staged": 0,
        "not_synced": 0,
        "pending": 0,
        "complete": 2,
        "failed": 0,
    }
    record = after["items"][0]["records"][0]
    assert (record["status"], record["connection"], record["error"]) == (
        "complete",
        connection.pk,
        None,
    )
    assert record["external_id"]


def test_every_items_errors_are_reported_at_once_and_nothing_is_written(api, org, category):
    items = [
        expense(1, category),
        expense(2, category, lines=[{"description": "x", "unit_amount": "abc"}]),
        expense(3, category, merchant_name=""),
        expense(4, category, currency="ZZZ"),
        expense(5, category, lines=[]),
    ]
    response = push(api, items)
    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {"items.1.lines.0.unit_amount", "items.2.merchant_name", "items.4.lines"}
    # The serializer's errors come first; the service's (currency) once those are fixed.
    items[1] = expense(2, category)
    items[2] = expense(3, category)
    items[4] = expense(5, category)
    fields = error_fields(push(api, items))
    assert set(fields) == {"items.3.currency"}
    assert not Document.objects.filter(org=org).exists()
    assert not ExpenseDataset.objects.exists()


def test_a_transaction_id_is_pushed_once(api, category):
    assert push(api, [expense(1, category)]).status_code == 201
    again = push(api, [expense(2, category), expense(1, category)])
    assert again.status_code == 400
    assert "pushed already" in error_fields(again)["items.1.id"][0]
    twice = push(api, [expense(3, category), expense(3, category)])
    assert "twice" in error_fields(twice)["items.1.id"][0]


def test_another_organisations_category_and_dataset(api, other_api, category, foreign):
    fields = error_fields(push(api, [expense(1, category, category=foreign["category"].pk)]))
    assert "does not exist" in fields["items.0.category"][0]
    body = push(api, [expense(1, category)]).json()
    response = other_api.get(f"/api/v1/expense-datasets/{body['id']}")
    assert response.status_code == 404
    assert other_api.get("/api/v1/expense-datasets").json()["results"] == []


def test_limits_and_auth(api, anonymous, category):
    empty = push(api, [])
    assert "items" in error_fields(empty)
    assert push(anonymous, [expense(1, category)]).status_code == 401
    assert anonymous.get("/api/v1/expense-datasets").status_code == 401
    assert not Document.objects.filter(status=DocumentStatus.APPROVED).exists()
