"""Request bodies: nested-JSON bombs answer 400 in the API's error shape, not a 500."""

import json

import pytest

from documents.models import Document

pytestmark = pytest.mark.django_db


def post_raw(api, path: str, body: str):
    return api.generic("POST", path, body, "application/json")


@pytest.mark.parametrize("depth", [100_000, 900, 33])
def test_a_deeply_nested_body_is_a_400(api, depth):
    """Issue 12 item 10: 100,000 brackets raised RecursionError in the JSON parser (500); a few
    hundred parse, then overflow wherever the body is walked again."""
    response = post_raw(api, "/api/v1/documents", "[" * depth + "]" * depth)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "nests deeper than 32 levels" in error["message"]
    assert not Document.objects.exists()


def test_an_ordinary_nested_body_still_parses(api, vendor):
    """Objects in lists in objects (a document's lines) are far from the bound."""
    nested = {"name": "Acme", "tags": [[[[{"a": [1, 2]}]]]]}
    response = post_raw(api, "/api/v1/contacts", json.dumps(nested))
    # Unknown fields are ignored: what matters is that the body was read.
    assert response.status_code == 201, response.content
