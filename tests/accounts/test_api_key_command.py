"""manage.py api_key: the quick start's key (docs/api.md), printed once, working on the API."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_prints_a_key_that_acts_for_the_organisation(org):
    out = io.StringIO()
    call_command("api_key", org.slug, "--name", "Quick start", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    body = client.get("/api/v1/organization").json()
    assert (body["id"], body["name"]) == (org.pk, org.name)


def test_an_unknown_organisation_is_refused(db):
    with pytest.raises(CommandError, match="No organisation"):
        call_command("api_key", "nope", stdout=io.StringIO())
