"""The OpenAPI document: valid OpenAPI 3, complete (errors, auth, Idempotency-Key), served at
/api/schema/ with interactive docs at /api/docs/ from our own static files."""

import re

import pytest
import yaml
from openapi_spec_validator import validate

from tests.api.schema import generated_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return generated_schema()


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_the_served_schema_is_the_generated_one(client, schema):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content) == schema
    as_json = client.get("/api/schema/", {"format": "json"})
    assert as_json.json() == schema


def test_every_operation_documents_auth_errors_and_rate_limit(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert operation.get("security") == [{"apiKey": []}], where
            for code in ("400", "401", "429"):
                assert code in responses, where
                assert responses[code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, where
            assert "Retry-After" in responses["429"]["headers"], where
            if "{" in path:
                assert "404" in responses, where
            assert operation.get("summary"), where
            assert any(code.startswith("2") for code in responses), where


def test_every_post_takes_an_idempotency_key_and_documents_409_and_422(schema):
    posts = [(p, ops["post"]) for p, ops in schema["paths"].items() if "post" in ops]
    assert len(posts) >= 15
    for path, operation in posts:
        names = [param["name"] for param in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        assert {"409", "422"} <= set(operation["responses"]), path


def test_the_error_shape_is_described(schema):
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_partner_flow_operations_exist(schema):
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/expense-datasets", "post"),
        ("/api/v1/expense-datasets/{dataset_id}", "get"),
        ("/api/v1/syncs", "post"),
        ("/api/v1/syncs", "get"),
        ("/api/v1/syncs/{sync_id}", "get"),
        ("/api/v1/syncs/{sync_id}/transactions", "get"),
        ("/api/v1/syncs/{sync_id}/transactions/{transaction_id}", "get"),
        ("/api/v1/syncs/{sync_id}/retry-failed", "post"),
        ("/api/v1/sync-records", "get"),
        ("/api/v1/sync-records/update-status", "post"),
        ("/api/v1/documents/{document_id}/attempts", "get"),
        ("/api/v1/connections/{connection_id}/force-sync", "post"),
        ("/api/v1/webhook-endpoints", "post"),
        ("/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver", "post"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path}"
    started = paths["/api/v1/syncs"]["post"]["responses"]["202"]
    assert started["content"]["application/json"]["schema"]["$ref"].endswith("SyncStarted")


def test_the_docs_page_serves_swagger_ui_from_our_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
    # Swagger UI's set-up script comes from a URL of its own (the CSP allows no inline script)
    # and points it at our schema.
    script_url = re.search(r'<script src="(/api/docs/\?script=[^"]*)"', page).group(1)
    script = client.get(script_url)
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
