"""The OpenAPI schema says what the server enforces (issue 12 item 16, found by schemathesis):
each rule is read from the schema as served and checked against the server's answer."""

import logging
import re

import pytest

from tests.api.schema import generated_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return generated_schema()


def parameters(schema, path, method="get") -> dict:
    # An operation without any (GET /organization) has no "parameters" key at all.
    return {p["name"]: p for p in schema["paths"][path][method].get("parameters", [])}


def test_page_size_bounds_are_documented_and_enforced(api, schema):
    for path, operations in schema["paths"].items():
        if "get" in operations and "page_size" in parameters(schema, path):
            bounds = parameters(schema, path)["page_size"]["schema"]
            assert (bounds.get("minimum"), bounds.get("maximum")) == (1, 200), path
    for size, answer in (("0", 400), ("201", 400), ("1", 200), ("200", 200)):
        assert api.get("/api/v1/contacts", {"page_size": size}).status_code == answer, size


def test_the_idempotency_key_pattern_is_the_one_the_server_checks(api, schema):
    header = parameters(schema, "/api/v1/contacts", "post")["Idempotency-Key"]["schema"]
    assert (header["minLength"], header["maxLength"]) == (1, 255)
    pattern = re.compile(header["pattern"])
    for key, accepted in (("a" * 255, True), ("ok-1 2", True), ("a" * 256, False), ("é", False)):
        assert bool(pattern.search(key)) is accepted, key
        response = api.post(
            "/api/v1/contacts",
            {"name": f"Acme {len(key)}"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == (201 if accepted else 400), (key, response.content)


def test_decimal_patterns_refuse_what_the_server_refuses(api, schema, vendor):
    patterns = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("format") == "decimal":
                patterns.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert patterns
    for pattern in map(re.compile, patterns):
        for refused in ("", "-", ".", "-."):
            assert not pattern.search(refused), (pattern.pattern, refused)
        for accepted in ("1", "12.5", ".5", "-3.25", "7."):
            assert pattern.search(accepted), (pattern.pattern, accepted)
    body = {
        "kind": "bill",
        "number": "B-1",
        "contact": vendor.pk,
        "issue_date": "2026-11-01",
        "due_date": "2026-11-30",
        "total": "",
    }
    response = api.post("/api/v1/documents", body, format="json")
    assert response.status_code == 400
    assert "total" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/documents", "status"),
        ("/api/v1/documents", "contact"),
        ("/api/v1/syncs", "status_code"),
        ("/api/v1/sync-records", "entry_type"),
        ("/api/v1/contacts", "kind"),
    ],
)
def test_a_blank_enum_or_id_filter_is_refused(api, schema, path, name):
    """`?status=` read as no filter (200 with everything) although the schema lists the
    values it takes, none of them blank."""
    documented = parameters(schema, path)[name]["schema"]
    assert "" not in documented.get("enum", [])
    response = api.get(path, {name: ""})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [name]
    # Free text may be blank.
    assert api.get(path, {"q": ""} if path != "/api/v1/syncs" else {"id": ""}).status_code == 200


def test_an_unknown_filter_id_is_documented_as_the_400_it_answers(api, schema):
    contact = parameters(schema, "/api/v1/documents")["contact"]
    assert "unknown id" in contact["description"] and "400" in contact["description"]
    response = api.get("/api/v1/documents", {"contact": 987654})
    assert response.status_code == 400
    assert "400" in schema["paths"]["/api/v1/documents"]["get"]["responses"]


def test_every_operation_documents_a_json_500_and_the_server_answers_one(
    api, schema, monkeypatch, caplog
):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                body = operation["responses"].get("500", {})
                assert "application/json" in body.get("content", {}), (method, path)

    def broken(**kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr("api.selectors.contact_list", broken)
    with caplog.at_level(logging.ERROR, logger="api.exceptions"):
        response = api.get("/api/v1/contacts")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "Something failed on our side; it is logged. Retry later.",
            "fields": {},
        }
    }
    assert "database said no" in caplog.text  # logged with its traceback, not swallowed
