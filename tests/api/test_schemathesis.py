"""Schemathesis against the generated OpenAPI schema, through the Django WSGI app in process.

Every operation gets up to MAX_EXAMPLES generated requests (valid and invalid) sent with a valid
API key; no answer may be a 5xx, have an undocumented status code or content type, or break its
response schema. Deterministic (derandomised, no example database) so CI sees what we saw.

Webhook endpoints are created through the API too: host names are not resolved here (the check
resolves them), every name reads as a loopback address, so no DNS query leaves the machine.
"""

import datetime
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from documents import services as document_services
from integrations.models import Connection, Provider
from synclog import services as sync_services
from synclog.models import Trigger
from tests.api.schema import generated_schema
from tests.factories import CategoryFactory, ContactFactory, DepartmentFactory, DocumentFactory
from webhooks import services as webhook_services

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Answers by status code over the whole module (printed with `-s`: the figures of the run).
STATUS_COUNTS: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    total = sum(STATUS_COUNTS.values())
    print(f"\nschemathesis: {total} requests; by status: {dict(sorted(STATUS_COUNTS.items()))}")


class CountingApp:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def counting_start_response(status, headers, *args):
            STATUS_COUNTS[int(status.split()[0])] += 1
            return start_response(status, headers, *args)

        return self.app(environ, counting_start_response)


@pytest.fixture
def wsgi_app():
    # Django's own test client does this too: a request must not close the test's connection
    # (that would end the transaction the test data lives in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield CountingApp(WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(org, api_key, monkeypatch, settings):
    """Something behind each kind of id, so reads of real objects are exercised too."""
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 100_000
    monkeypatch.setattr("webhooks.urlcheck.resolve_host", lambda host, port: ["127.0.0.1"])
    vendor = ContactFactory(org=org)
    category = CategoryFactory(org=org)
    DepartmentFactory(org=org)
    document = DocumentFactory(org=org, contact=vendor, category=category)
    document_services.document_approve(document=document, actor=None)
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")
    sync_services.bulk_resync(
        org=org, document_ids=[document.pk], actor=None, trigger=Trigger.API, connection=connection
    )
    webhook_services.webhook_endpoint_create(
        org=org, url="http://127.0.0.1:9/hook", events=["sync.completed"]
    )
    return {"document": document, "date": datetime.date(2026, 11, 1)}


# Loaded when the module is collected (Django is set up by then; no database is needed to build
# the schema). schemathesis' lazy fixture loader does not run on pytest 9, and one test per
# operation reports better anyway.
schema = schemathesis.openapi.from_dict(generated_schema())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_fits_the_schema(case, wsgi_app, seeded, created_key):
    headers = {"Authorization": f"Bearer {created_key.plaintext}"}
    case.call_and_validate(app=wsgi_app, headers=headers, checks=CHECKS)
