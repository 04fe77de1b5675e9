"""Bearer API keys: the key's organisation is the request's; anything else is a 401."""

import datetime
import hashlib
import re

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from tests.api.conftest import error_fields, make_client

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/contacts"


def assert_unauthorized(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    error_fields(response)
    return response.json()["error"]


def test_no_key_is_401(anonymous):
    error = assert_unauthorized(anonymous.get(LIST_URL))
    assert error["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer lsk_00000000_not-a-key",
        "Bearer",
        "Bearer two words",
        "Basic dXNlcjpwYXNz",
        "Bearer lsk_only-two",
        "Bearer \u00e9",
    ],
)
def test_malformed_or_unknown_key_is_401(header, api_key):
    client = make_client(None)
    client.credentials(HTTP_AUTHORIZATION=header)
    error = assert_unauthorized(client.get(LIST_URL))
    assert error["code"] == "authentication_failed"


def test_a_wrong_secret_with_a_real_prefix_is_401(created_key):
    prefix = created_key.api_key.prefix
    client = make_client(f"lsk_{prefix}_{'x' * 43}")
    assert_unauthorized(client.get(LIST_URL))


def test_a_revoked_key_is_401_at_once(api, api_key):
    assert api.get(LIST_URL).status_code == 200
    api_key_revoke(api_key=api_key, actor=None)
    assert_unauthorized(api.get(LIST_URL))


def test_a_signed_in_user_without_a_key_is_401(client_for, clerk):
    # The API takes API keys only; a browser session is not a way in (no CSRF there).
    response = client_for(clerk).get(LIST_URL)
    assert response.status_code == 401


def test_only_a_digest_of_the_key_is_stored(org):
    created = api_key_create(org=org, name="ERP", actor=None)
    row = ApiKey.objects.get(pk=created.api_key.pk)
    assert created.plaintext.startswith(f"lsk_{row.prefix}_")
    assert row.hashed_key == hashlib.sha256(created.plaintext.encode()).hexdigest()
    stored = " ".join(
        str(value) for value in ApiKey.objects.filter(pk=row.pk).values().get().values()
    )
    assert created.plaintext not in stored
    assert len(created.plaintext) > 40


def test_the_key_acts_for_its_organisation_and_records_its_use(api, api_key, vendor, other_org):
    from tests.factories import ContactFactory

    ContactFactory(org=other_org, name="Not ours")
    response = api.get(LIST_URL)
    assert [row["name"] for row in response.json()["results"]] == ["Office Supplies Ltd"]
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert timezone.now() - api_key.last_used_at < datetime.timedelta(minutes=1)


def test_api_key_names_are_required(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        api_key_create(org=org, name="  ", actor=None)
    assert "name" in error.value.message_dict


def test_unknown_api_paths_answer_the_json_404(api):
    for url in ("/api/v1/nothing-here", "/api/v1/documents/not-a-number"):
        response = api.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def every_operation():
    from tests.api.schema import generated_schema

    for path, operations in generated_schema()["paths"].items():
        for method in operations:
            if method in ("get", "post", "patch", "delete", "put"):
                yield method, path


def concrete(path: str) -> str:
    path = re.sub(r"\{(sync_id|dataset_id)\}", "00000000-0000-0000-0000-000000000001", path)
    return re.sub(r"\{[a-z_]+\}", "1", path)


@pytest.mark.parametrize(("method", "path"), list(every_operation()))
def test_every_operation_needs_a_valid_key(method, path, anonymous, created_key):
    url = concrete(path)
    assert_unauthorized(getattr(anonymous, method)(url, {}, format="json"))
    revoked = make_client(created_key.plaintext)
    api_key_revoke(api_key=created_key.api_key, actor=None)
    assert_unauthorized(getattr(revoked, method)(url, {}, format="json"))
