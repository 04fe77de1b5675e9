"""Idempotency-Key on POST: replay, 422 for another body, 409 while running, 24 hours."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart
from django.utils import timezone

from api.idempotency import idempotency_keys_purge
from api.models import IdempotencyRecord
from api.tasks import idempotency_keys_purge as purge_task
from documents.models import Attachment, Contact, DocumentStatus
from tests.api.conftest import error_fields
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts"


def post(client, body, key="key-1", **kwargs):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **kwargs)


def test_the_same_key_and_body_replay_the_first_answer(api, org):
    first = post(api, {"name": "Paper Co"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(api, {"name": "Paper Co"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.filter(org=org, name="Paper Co").count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.response_status, record.key) == ("completed", 201, "key-1")


def test_key_order_and_whitespace_of_the_json_do_not_matter(api, org):
    first = api.post(
        URL,
        '{"name": "Paper Co", "kind": "vendor"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = api.post(
        URL,
        '{ "kind":"vendor","name":"Paper Co" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert again.json() == first.json()
    assert Contact.objects.filter(org=org).count() == 1


def test_the_same_key_with_another_body_is_422(api, org):
    post(api, {"name": "Paper Co"})
    response = post(api, {"name": "Toner Ltd"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error_fields(response)
    assert not Contact.objects.filter(name="Toner Ltd").exists()


def test_the_same_key_on_another_path_is_422(api, org, category):
    post(api, {"name": "Paper Co"})
    response = api.post(
        "/api/v1/departments", {"name": "Paper Co"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert response.status_code == 422


def test_the_same_key_while_the_first_request_runs_is_409(api, api_key, org):
    # The first request wrote its row (in its own transaction) and is still working.
    IdempotencyRecord.objects.create(
        api_key=api_key,
        key="key-1",
        request_fingerprint=_fingerprint_of(api, {"name": "Paper Co"}),
        method="POST",
        path=URL,
    )
    response = post(api, {"name": "Paper Co"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert response["Retry-After"] == "1"
    assert not Contact.objects.filter(org=org).exists()


def _fingerprint_of(api, body) -> str:
    """The fingerprint the server computes, found by sending once under a throwaway key."""
    post(api, body, key="probe")
    record = IdempotencyRecord.objects.get(key="probe")
    Contact.objects.filter(name=body["name"]).delete()
    record.delete()
    return record.request_fingerprint


def test_a_request_abandoned_in_progress_frees_its_key(api, api_key, org):
    record = IdempotencyRecord.objects.create(
        api_key=api_key, key="key-1", request_fingerprint="x", method="POST", path=URL
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=6)
    )
    assert post(api, {"name": "Paper Co"}).status_code == 201


def test_keys_are_kept_24_hours(api, org):
    post(api, {"name": "Paper Co"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    # Expired: the key is free again (a new request, a new contact).
    again = post(api, {"name": "Paper Co"})
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Contact.objects.filter(org=org, name="Paper Co").count() == 2


def test_the_purge_deletes_keys_older_than_24_hours(api, org):
    post(api, {"name": "Old"}, key="old")
    post(api, {"name": "New"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1)
    )
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert purge_task() == 0


def test_errors_are_answers_too_and_are_replayed(api):
    first = post(api, {"name": ""})
    assert first.status_code == 400
    again = post(api, {"name": ""})
    assert (again.status_code, again.json()) == (400, first.json())
    assert again["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_api_key(api, other_api, org, other_org):
    post(api, {"name": "Paper Co"})
    theirs = post(other_api, {"name": "Something else"})
    assert theirs.status_code == 201
    assert Contact.objects.filter(org=other_org, name="Something else").exists()


def test_without_a_key_nothing_is_kept(api, org):
    api.post(URL, {"name": "Paper Co"}, format="json")
    api.post(URL, {"name": "Paper Co"}, format="json")
    assert Contact.objects.filter(org=org, name="Paper Co").count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_an_invalid_key_is_400(api):
    response = post(api, {"name": "Paper Co"}, key="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in error_fields(response)


def test_actions_replay_instead_of_acting_twice(api, org, vendor):
    document = DocumentFactory(org=org, contact=vendor, status=DocumentStatus.AWAITING_APPROVAL)
    url = f"/api/v1/documents/{document.pk}/approve"
    first = api.post(url, HTTP_IDEMPOTENCY_KEY="approve-1")
    again = api.post(url, HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    # Without the key, the second approval is refused: the document is approved already.
    assert api.post(url).status_code == 400


def test_a_multipart_retry_matches_despite_a_new_boundary(api, org, vendor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    document = DocumentFactory(org=org, contact=vendor)
    url = f"/api/v1/documents/{document.pk}/attachments"

    def send(boundary: str, content=b"%PDF-1.4 receipt"):
        upload = SimpleUploadedFile("r.pdf", content, content_type="application/pdf")
        return api.post(
            url,
            encode_multipart(boundary, {"file": upload}),
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="up-1",
        )

    first = send("boundary-one")
    again = send("another-boundary-2")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Attachment.objects.count() == 1
    assert send("boundary-one", b"%PDF-1.4 another receipt").status_code == 422
