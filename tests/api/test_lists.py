"""Every list: cursor pagination, and a number of queries that does not grow with the rows."""

import base64
import datetime

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import ExpenseDataset, ExpenseDatasetItem
from documents.models import Attachment, DocumentStatus, Payment
from integrations.models import Connection, Provider
from synclog.models import (
    AttemptOutcome,
    SyncAttempt,
    SyncRecord,
    SyncRunItem,
    Trigger,
)
from tests.api.conftest import error_fields
from tests.factories import (
    CategoryFactory,
    ConnectionFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    SyncAttemptFactory,
    SyncRecordFactory,
    SyncRunFactory,
    WebhookEndpointFactory,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db


class Rows:
    """Makes n rows behind one list endpoint and says its URL."""

    def __init__(self, org):
        self.org = org
        self.vendor = ContactFactory(org=org, name="Vendor")
        self.category = CategoryFactory(org=org)
        self.connection = ConnectionFactory(org=org, name="X")
        self.document = DocumentFactory(org=org, contact=self.vendor, category=self.category)
        self.run = SyncRunFactory(connection=self.connection, trigger=Trigger.API)
        self.endpoint = WebhookEndpointFactory(
            org=org, url="https://example.com/h", events=["sync.failed"]
        )

    def documents(self, n, start):
        return [
            DocumentFactory(org=self.org, contact=self.vendor, number=f"D-{start + i}")
            for i in range(n)
        ]

    def records(self, n, start):
        documents = self.documents(n, start)
        return [
            SyncRecordFactory(connection=self.connection, document=document)
            for document in documents
        ]

    def make(self, name: str, n: int, start: int) -> str:
        org = self.org
        if name == "contacts":
            ContactFactory.create_batch(n, org=org)
            return "/api/v1/contacts"
        if name == "categories":
            CategoryFactory.create_batch(n, org=org)
            return "/api/v1/categories"
        if name == "departments":
            DepartmentFactory.create_batch(n, org=org)
            return "/api/v1/departments"
        if name == "documents":
            self.documents(n, start)
            return "/api/v1/documents"
        if name == "attachments":
            for i in range(n):
                Attachment.objects.create(
                    org=org,
                    document=self.document,
                    file=f"a{start + i}.pdf",
                    filename="a.pdf",
                    content_type="application/pdf",
                    size=1,
                )
            return f"/api/v1/documents/{self.document.pk}/attachments"
        if name in ("payments", "document-payments"):
            self.document.total = 10_000
            self.document.status = DocumentStatus.APPROVED
            self.document.save()
            for _ in range(n):
                Payment.objects.create(
                    org=org, document=self.document, amount=1, paid_at=datetime.date(2026, 11, 2)
                )
            if name == "payments":
                return "/api/v1/payments"
            return f"/api/v1/documents/{self.document.pk}/payments"
        if name == "attempts":
            record = (
                SyncRecordFactory(connection=self.connection, document=self.document)
                if not SyncRecord.objects.filter(document=self.document).exists()
                else (SyncRecord.objects.get(document=self.document))
            )
            now = timezone.now()
            for _ in range(n):
                SyncAttemptFactory(
                    record=record,
                    run=self.run,
                    trigger=Trigger.API,
                    outcome=AttemptOutcome.FAILED,
                    status_code=4000,
                    started_at=now,
                    finished_at=now,
                )
            return f"/api/v1/documents/{self.document.pk}/attempts"
        if name == "syncs":
            for _ in range(n):
                SyncRunFactory(connection=self.connection)
            return "/api/v1/syncs"
        if name == "transactions":
            for record in self.records(n, start):
                SyncRunItem.objects.create(run=self.run, record=record, outcome="failed")
                SyncAttempt.objects.create(
                    org=org,
                    record=record,
                    run=self.run,
                    trigger=Trigger.API,
                    outcome=AttemptOutcome.FAILED,
                    status_code=4000,
                    error_message="nope",
                    started_at=timezone.now(),
                    finished_at=timezone.now(),
                )
            return f"/api/v1/syncs/{self.run.public_id}/transactions"
        if name == "sync-records":
            self.records(n, start)
            return "/api/v1/sync-records"
        if name == "connections":
            for _ in range(n):
                Connection.objects.create(org=org, provider=Provider.XERO, name="Y")
            return "/api/v1/connections"
        if name == "datasets":
            for _ in range(n):
                ExpenseDataset.objects.create(org=org)
            return "/api/v1/expense-datasets"
        if name == "dataset":
            dataset = ExpenseDataset.objects.filter(
                org=org
            ).first() or ExpenseDataset.objects.create(org=org)
            for record in self.records(n, start):
                ExpenseDatasetItem.objects.create(
                    org=org,
                    dataset=dataset,
                    position=start,
                    transaction_id=f"t-{record.pk}",
                    document=record.document,
                )
            return f"/api/v1/expense-datasets/{dataset.public_id}"
        if name == "webhook-endpoints":
            for _ in range(n):
                endpoint = WebhookEndpoint(
                    org=org, url="https://example.com", events=["sync.failed"]
                )
                endpoint.secret = "whsec_y"
                endpoint.save()
            return "/api/v1/webhook-endpoints"
        if name == "deliveries":
            for _ in range(n):
                message = WebhookMessage.objects.create(
                    org=org, event_type="sync.failed", payload={}
                )
                WebhookDelivery.objects.create(org=org, endpoint=self.endpoint, message=message)
            return f"/api/v1/webhook-endpoints/{self.endpoint.pk}/deliveries"
        raise AssertionError(name)


LISTS = [
    "contacts",
    "categories",
    "departments",
    "documents",
    "attachments",
    "payments",
    "document-payments",
    "attempts",
    "syncs",
    "transactions",
    "sync-records",
    "connections",
    "datasets",
    "dataset",
    "webhook-endpoints",
    "deliveries",
]


def queries(api, url) -> int:
    with CaptureQueriesContext(db_connection) as captured:
        response = api.get(url, {"page_size": 100} if "expense-datasets/" not in url else {})
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("name", LISTS)
def test_queries_do_not_grow_with_rows(api, org, name):
    rows = Rows(org)
    url = rows.make(name, 5, 0)
    api.get(url)  # the key's last use is written on the first call of the minute
    few = queries(api, url)
    rows.make(name, 45, 5)
    many = queries(api, url)
    assert many == few, f"{name}: {few} queries for 5 rows, {many} for 50"
    assert few <= 8, f"{name}: {few} queries"


def test_cursor_pagination_walks_every_row_once(api, org):
    ContactFactory.create_batch(7, org=org)
    seen, url, pages = [], "/api/v1/contacts?page_size=3", 0
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


def test_a_row_added_between_pages_neither_repeats_nor_shifts(api, org):
    ContactFactory.create_batch(4, org=org)
    first = api.get("/api/v1/contacts", {"page_size": 2}).json()
    ContactFactory(org=org, name="Newest")
    second = api.get(first["next"]).json()
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 4


def test_bad_page_size_and_cursor_are_400(api):
    bad_offset = base64.b64encode(b"o=abc").decode()
    for params in (
        {"page_size": 0},
        {"page_size": 201},
        {"page_size": "x"},
        {"cursor": bad_offset},
    ):
        response = api.get("/api/v1/contacts", params)
        assert response.status_code == 400, params
        assert set(error_fields(response)) <= {"page_size", "cursor"}
    forged = base64.b64encode(b"p=abc").decode()
    response = api.get("/api/v1/contacts", {"cursor": forged})
    assert response.status_code == 400
