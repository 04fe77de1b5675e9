"""Fixtures and helpers for the Sync History page tests: a connection, an accountant signed in,
the page's rows, messages and query count."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from tests.factories import MembershipFactory
from tests.synclog.history import make_connection

HISTORY = reverse("synclog:history")
UPDATE = reverse("synclog:history-update-status")
ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT


@pytest.fixture
def xero(org):
    return make_connection(org)


@pytest.fixture
def accountant(org):
    return MembershipFactory(org=org, role=ACCOUNTING).user


@pytest.fixture
def signed_in(client, accountant):
    client.force_login(accountant)
    return client


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-record-id="(\d+)"', response.content.decode())]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def count_queries_for(client, query) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(HISTORY, query).status_code == 200
    return len(queries)
