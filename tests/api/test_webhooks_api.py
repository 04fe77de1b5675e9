"""Webhook endpoints over the API (secret shown once) and their deliveries (list, redeliver)."""

import pytest
import standardwebhooks
from django.urls import reverse

from accounts.models import Role
from tests.api.conftest import error_fields
from tests.api.schema import generated_schema
from tests.factories import MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

EVENTS = ["sync.completed", "sync.failed", "record.failed"]
KEY = "API key Partner ERP"  # the `api` fixture's key is named "Partner ERP"


@pytest.fixture(autouse=True)
def development(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


def create(api, url, events=EVENTS, **extra):
    return api.post(
        "/api/v1/webhook-endpoints", {"url": url, "events": events, **extra}, format="json"
    )


def test_crud_with_the_secret_shown_once(api, org, receiver):
    response = create(api, receiver.url(), description="ERP production")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["events"], body["state"], body["description"]) == (
        EVENTS,
        "active",
        "ERP production",
    )
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.org == org and endpoint.secret == body["secret"]

    url = f"/api/v1/webhook-endpoints/{body['id']}"
    read = api.get(url).json()
    assert "secret" not in read
    assert [row["id"] for row in api.get("/api/v1/webhook-endpoints").json()["results"]] == [
        body["id"]
    ]

    updated = api.patch(url, {"events": ["sync.failed"], "is_active": False}, format="json")
    assert updated.status_code == 200, updated.content
    assert (updated.json()["events"], updated.json()["state"]) == (["sync.failed"], "disabled")
    enabled = api.patch(url, {"is_active": True}, format="json").json()
    assert enabled["state"] == "active"

    rotated = api.post(f"{url}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != body["secret"]
    endpoint.refresh_from_db()
    assert endpoint.secret == rotated.json()["secret"]

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not WebhookEndpoint.objects.exists()


def test_validation_errors(api, settings):
    bad = create(api, "not a url", events=["sync.exploded"])
    assert bad.status_code == 400
    assert set(error_fields(bad)) == {"url", "events.0"}
    none = create(api, "https://example.com/hooks", events=[])
    assert "events" in error_fields(none)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    private = create(api, "https://127.0.0.1/hooks")
    assert private.status_code == 400
    assert (
        "private" in error_fields(private)["url"][0] or "public" in error_fields(private)["url"][0]
    )
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_are_listed_read_and_redelivered(
    api, org, receiver, webhook_tasks, django_capture_on_commit_callbacks
):
    body = create(api, receiver.url()).json()
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "s-1", "status_code": 2000}
    )
    services.webhook_delivery_send(delivery_id=delivery.pk)
    base = f"/api/v1/webhook-endpoints/{body['id']}/deliveries"

    listed = api.get(base).json()["results"]
    assert [(row["id"], row["status"], row["event_type"]) for row in listed] == [
        (delivery.pk, "success", "sync.completed")
    ]
    assert api.get(base, {"status": "failed"}).json()["results"] == []
    detail = api.get(f"{base}/{delivery.pk}").json()
    assert detail["payload"] == {"id": "s-1", "status_code": 2000}
    assert [(a["status_code"], a["success"], a["manual"]) for a in detail["attempts"]] == [
        (200, True, False)
    ]
    # What the receiver got verifies with the secret the API showed once.
    [request] = receiver.requests
    verified = standardwebhooks.Webhook(body["secret"]).verify(request["body"], request["headers"])
    assert verified["data"]["id"] == "s-1"

    with django_capture_on_commit_callbacks(execute=True):
        redelivered = api.post(f"{base}/{delivery.pk}/redeliver")
    assert redelivered.status_code == 202, redelivered.content
    assert [sent[0] for sent in webhook_tasks] == [delivery.pk]
    services.webhook_delivery_send(delivery_id=delivery.pk)
    assert len(receiver.requests) == 2
    assert [a["manual"] for a in api.get(f"{base}/{delivery.pk}").json()["attempts"]] == [
        True,
        False,
    ]

    api.patch(f"/api/v1/webhook-endpoints/{body['id']}", {"is_active": False}, format="json")
    refused = api.post(f"{base}/{delivery.pk}/redeliver")
    assert refused.status_code == 400
    assert "disabled" in refused.json()["error"]["message"]


def test_another_organisations_endpoints_and_deliveries_are_404(
    api, other_api, org, receiver, other_org
):
    body = create(api, receiver.url()).json()
    [delivery] = services.webhook_event_emit(org=org, event_type="sync.failed", payload={})
    base = f"/api/v1/webhook-endpoints/{body['id']}"
    for url in (base, f"{base}/deliveries", f"{base}/deliveries/{delivery.pk}"):
        assert_not_found_for_other_tenant(other_api, "get", url)
    for url in (f"{base}/rotate-secret", f"{base}/deliveries/{delivery.pk}/redeliver"):
        assert_not_found_for_other_tenant(other_api, "post", url)
    assert other_api.patch(base, {"is_active": False}, format="json").status_code == 404
    assert other_api.delete(base).status_code == 404
    assert other_api.get("/api/v1/webhook-endpoints").json()["results"] == []
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.is_active and WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    # A delivery of another endpoint is not this endpoint's.
    theirs = create(other_api, receiver.url()).json()
    response = other_api.get(f"/api/v1/webhook-endpoints/{theirs['id']}/deliveries/{delivery.pk}")
    assert response.status_code == 404


def test_webhook_endpoints_need_a_key(anonymous, receiver):
    assert anonymous.get("/api/v1/webhook-endpoints").status_code == 401
    assert create(anonymous, receiver.url()).status_code == 401
    assert not WebhookEndpoint.objects.exists()


def test_a_form_encoded_update_is_refused_and_leaves_the_endpoint_active(api, receiver):
    """Issue 12 item 8: `curl -X PATCH -F description=renamed` disabled the endpoint (a form
    without the is_active box reads as false). The API takes JSON bodies only: 415."""
    body = create(api, receiver.url(), description="ERP").json()
    url = f"/api/v1/webhook-endpoints/{body['id']}"
    for content_type in ("multipart", "form"):
        if content_type == "multipart":
            refused = api.patch(url, {"description": "renamed"}, format="multipart")
        else:
            refused = api.generic(
                "PATCH", url, "description=renamed", "application/x-www-form-urlencoded"
            )
        assert refused.status_code == 415, refused.content
        assert refused.json()["error"]["code"] == "unsupported_media_type"
        assert "application/json" in refused.json()["error"]["message"]
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert (endpoint.is_active, endpoint.description) == (True, "ERP")

    # The same change in JSON renames it and leaves it active.
    renamed = api.patch(url, {"description": "renamed"}, format="json").json()
    assert (renamed["description"], renamed["is_active"]) == ("renamed", True)
    # A form-encoded create is refused the same way (it would subscribe to nothing useful).
    refused = api.post(
        "/api/v1/webhook-endpoints", {"url": receiver.url(), "events": EVENTS}, format="multipart"
    )
    assert refused.status_code == 415


@pytest.mark.django_db(transaction=True)  # a request's on-commit send runs in it, as live
def test_redeliver_with_the_broker_down_answers_202_saying_the_sweep_sends_it_and_when(
    api, org, receiver, dead_broker, settings
):
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 240
    body = create(api, receiver.url()).json()
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "s-1", "status_code": 2000}
    )
    base = f"/api/v1/webhook-endpoints/{body['id']}/deliveries"

    redelivered = api.post(f"{base}/{delivery.pk}/redeliver")

    assert redelivered.status_code == 202, redelivered.content
    answer = redelivered.json()
    assert answer["id"] == delivery.pk
    # Not sent: the sweep leaves a request SWEEP_GRACE (60 s), then runs every 240 s.
    assert (answer["queued"], answer["sweep_within_seconds"]) == (False, 300)
    delivery.refresh_from_db()
    # Asked for and unsent: webhook_deliveries_sweep sends it once the broker is back.
    assert delivery.redeliver_requested_at is not None and delivery.claimed_until is None
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_redeliver_answers_202_saying_the_task_queue_took_it(api, org, receiver, webhook_tasks):
    body = create(api, receiver.url()).json()
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "s-1", "status_code": 2000}
    )
    base = f"/api/v1/webhook-endpoints/{body['id']}/deliveries"
    webhook_tasks.clear()  # the emit's own send

    redelivered = api.post(f"{base}/{delivery.pk}/redeliver")

    assert redelivered.status_code == 202, redelivered.content
    answer = redelivered.json()
    assert (answer["queued"], answer["sweep_within_seconds"]) == (True, None)
    assert [sent[0] for sent in webhook_tasks] == [delivery.pk]


def test_the_redeliver_schema_documents_where_the_redelivery_went():
    schema = generated_schema()
    operation = schema["paths"][
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"
    ]["post"]
    answer = operation["responses"]["202"]["content"]["application/json"]["schema"]
    properties = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]["properties"]
    assert properties["queued"]["type"] == "boolean"
    assert properties["sweep_within_seconds"]["nullable"] is True
    assert "`queued: false`" in operation["description"]
    assert "sweep_within_seconds" in operation["description"]


def test_a_redelivery_by_a_key_is_logged_and_shown_with_the_keys_name(
    api, org, other_org, receiver, webhook_tasks, client_for, admin_client
):
    body = create(api, receiver.url()).json()
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "s-1", "status_code": 2000}
    )
    services.webhook_delivery_send(delivery_id=delivery.pk)
    base = f"/api/v1/webhook-endpoints/{body['id']}/deliveries"

    assert api.post(f"{base}/{delivery.pk}/redeliver").status_code == 202
    delivery.refresh_from_db()
    assert (delivery.redeliver_requested_by, delivery.redeliver_requested_label) == (None, KEY)
    page_url = reverse("webhooks:delivery", args=[body["id"], delivery.pk])
    waiting = " ".join(admin_client.get(page_url).content.decode().split())
    assert f" by {KEY}. It is being sent" in waiting
    manual = services.webhook_delivery_send(delivery_id=delivery.pk)
    assert (manual.manual, manual.actor, manual.actor_label) == (True, None, KEY)
    delivery.refresh_from_db()
    assert delivery.redeliver_requested_label == ""  # the request is spent

    page = admin_client.get(page_url).content.decode()
    row = page[page.index(f'data-attempt-id="{manual.pk}"') :]
    assert f"<td>Redelivery by {KEY}</td>" in row[: row.index("</tr>")]
    outsider = client_for(MembershipFactory(org=other_org, role=Role.ADMIN).user)
    assert_not_found_for_other_tenant(outsider, "get", page_url)
