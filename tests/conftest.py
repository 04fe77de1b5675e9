import shutil

import pytest

from accounts.models import Role
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    DocumentFactory,
    MembershipFactory,
    OrganizationFactory,
)

pytest_plugins = ["tests.ledger_fixtures", "tests.browser_fixtures"]


@pytest.fixture
def dead_broker():
    """Tasks sent by this process go to a broker address where nothing listens (Redis is down):
    the sends really happen, and fail as they would."""
    from bench.harness.processes import broker_for_this_process, free_port

    with broker_for_this_process(f"redis://127.0.0.1:{free_port()}/0"):
        yield


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def clerk(org):
    return MembershipFactory(org=org, role=Role.AP_CLERK).user


@pytest.fixture
def admin_client(client, org):
    """The test client signed in as an admin of `org` (who may do everything there, so a 404
    for another organisation's id can only come from scoping)."""
    client.force_login(MembershipFactory(org=org, role=Role.ADMIN).user)
    return client


@pytest.fixture
def vendor(org):
    return ContactFactory(org=org, name="Office Supplies Ltd")


@pytest.fixture
def category(org):
    return CategoryFactory(org=org, name="Office", code="429")


@pytest.fixture
def bill(org, vendor, category):
    return DocumentFactory(org=org, contact=vendor, category=category)


@pytest.fixture
def client_for(client):
    """A logged-in test client for a user (in the organisation of their first membership)."""

    def login(user):
        client.force_login(user)
        return client

    return login


def pytest_collection_modifyitems(config, items):
    # Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    # for the rest of the session, which tests that start their own loop cannot share.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def pytest_sessionfinish(session, exitstatus):
    from django.conf import settings

    # The run's own temporary state folder (attachments, file broker, rate-limit files).
    if getattr(settings, "TEMPORARY_VAR_DIR", ""):
        shutil.rmtree(settings.TEMPORARY_VAR_DIR, ignore_errors=True)
