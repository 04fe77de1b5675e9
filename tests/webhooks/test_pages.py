"""The webhooks pages (admins only): list, add with the secret shown once, edit, enable/disable,
rotate, delete, deliveries with attempts and payload, redeliver. Tenancy, roles, query counts."""

import datetime
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from tests.factories import MembershipFactory
from tests.tenancy import assert_not_found_for_other_tenant
from webhooks import services
from webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from webhooks.services.delivery import SWEEP_GRACE

ALLOWED, SIGN_IN, FORBIDDEN = "allowed", "sign-in", "403"


@pytest.fixture
def endpoint(org, allow_private, make_endpoint):
    endpoint, _secret = make_endpoint("http://127.0.0.1:9/hook")
    return endpoint


@pytest.fixture
def delivery(org, endpoint, webhook_tasks):
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "run-1", "status_code": 2000}
    )
    return delivery


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def add_attempt(delivery, status_code=500, body="boom", manual=False, actor=None):
    return WebhookDeliveryAttempt.objects.create(
        delivery=delivery,
        url=delivery.endpoint.url,
        status_code=status_code,
        success=status_code is not None and 200 <= status_code < 300,
        response_body=body,
        manual=manual,
        actor=actor,
        attempted_at=timezone.now(),
        duration_ms=12,
    )


# --- roles -----------------------------------------------------------------------------------


PAGES = [
    ("list", "get", "webhooks:list", None),
    ("add form", "get", "webhooks:create", None),
    ("add", "post", "webhooks:create", None),
    ("detail", "get", "webhooks:detail", "endpoint"),
    ("edit form", "get", "webhooks:edit", "endpoint"),
    ("edit", "post", "webhooks:edit", "endpoint"),
    ("enable", "post", "webhooks:enable", "endpoint"),
    ("disable", "post", "webhooks:disable", "endpoint"),
    ("rotate secret", "post", "webhooks:rotate-secret", "endpoint"),
    ("delete", "post", "webhooks:delete", "endpoint"),
    ("delivery", "get", "webhooks:delivery", "delivery"),
    ("redeliver", "post", "webhooks:redeliver", "delivery"),
]


def _args(needs, endpoint, delivery):
    if needs == "endpoint":
        return [endpoint.pk]
    if needs == "delivery":
        return [endpoint.pk, delivery.pk]
    return []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT])
@pytest.mark.parametrize(("name", "method", "url_name", "needs"), PAGES, ids=[p[0] for p in PAGES])
def test_role_matrix(client, org, endpoint, delivery, role, name, method, url_name, needs):
    client.force_login(MembershipFactory(org=org, role=role).user)
    url = reverse(url_name, args=_args(needs, endpoint, delivery))
    data = {"url": "http://127.0.0.1:9/other", "events": ["sync.failed"]}
    response = client.get(url) if method == "get" else client.post(url, data)

    if role == Role.ADMIN:
        assert response.status_code in (200, 302), (name, response.status_code)
        if response.status_code == 302:
            assert "/sign-in/" not in response["Location"]
    elif method == "get":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == 403
    if role != Role.ADMIN:
        # Nothing changed for a role that may not.
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).exists()
        assert WebhookEndpoint.objects.count() == 1
        assert not WebhookDelivery.objects.filter(redeliver_requested_at__isnull=False).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, endpoint):
    response = client.get(reverse("webhooks:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- tenant isolation ------------------------------------------------------------------------


def test_another_organisations_endpoints_and_deliveries_are_not_found(
    org, other_org, allow_private, make_endpoint, admin_client, webhook_tasks, endpoint, delivery
):
    theirs, _ = make_endpoint("http://127.0.0.1:9/theirs", owner=other_org)
    [their_delivery] = services.webhook_event_emit(
        org=other_org, event_type="sync.completed", payload={"id": "secret-run"}
    )
    WebhookDeliveryAttempt.objects.create(
        delivery=their_delivery, url=theirs.url, status_code=500, attempted_at=timezone.now()
    )
    post_data = {"url": "http://127.0.0.1:9/stolen", "events": ["sync.failed"]}
    for method, name in [
        ("get", "webhooks:detail"),
        ("get", "webhooks:edit"),
        ("post", "webhooks:edit"),
        ("post", "webhooks:enable"),
        ("post", "webhooks:disable"),
        ("post", "webhooks:rotate-secret"),
        ("post", "webhooks:delete"),
    ]:
        assert_not_found_for_other_tenant(
            admin_client, method, reverse(name, args=[theirs.pk]), post_data
        )
    for method, name in [("get", "webhooks:delivery"), ("post", "webhooks:redeliver")]:
        # Theirs with their delivery, ours with their delivery, theirs with our delivery.
        for endpoint_id, delivery_id in [
            (theirs.pk, their_delivery.pk),
            (endpoint.pk, their_delivery.pk),
            (theirs.pk, delivery.pk),
        ]:
            assert_not_found_for_other_tenant(
                admin_client, method, reverse(name, args=[endpoint_id, delivery_id])
            )
    theirs_after = WebhookEndpoint.objects.get(pk=theirs.pk)
    assert (theirs_after.url, theirs_after.is_active, theirs_after.secret_encrypted) == (
        theirs.url,
        True,
        theirs.secret_encrypted,
    )
    their_delivery.refresh_from_db()
    assert their_delivery.redeliver_requested_at is None
    # And their endpoint is not listed.
    page = admin_client.get(reverse("webhooks:list")).content.decode()
    assert "/theirs" not in page and endpoint.url in page


# --- list, banner, query counts --------------------------------------------------------------


def test_empty_list_says_what_to_do(admin_client, org):
    response = admin_client.get(reverse("webhooks:list"))
    assert response.status_code == 200
    assert b'id="no-endpoints"' in response.content
    assert b"Add endpoint" in response.content
    assert b'id="webhook-failing-banner"' not in response.content


def test_list_shows_status_and_events(admin_client, org, endpoint):
    content = admin_client.get(reverse("webhooks:list")).content.decode()
    assert endpoint.url in content
    assert "sync.completed" in content and "record.failed" in content
    assert "badge-endpoint-active" in content


def test_a_disabled_endpoint_is_announced_on_the_page(
    admin_client, org, endpoint, receiver, webhook_tasks
):
    """Five days of failures, then a failed attempt: disabled, and the banner says so."""
    services.webhook_endpoint_update(endpoint=endpoint, url=receiver.url())
    receiver.status = 500
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=5, hours=1)
    )
    [delivery] = services.webhook_event_emit(org=org, event_type="sync.failed", payload={})
    services.webhook_delivery_send(delivery_id=delivery.pk)

    content = admin_client.get(reverse("webhooks:list")).content.decode()
    banner = re.search(r'<article[^>]*id="webhook-failing-banner".*?</article>', content, re.S)
    assert banner, "no warning banner"
    assert endpoint.url.split("/hook")[0] in banner.group(0)
    assert "disabled" in banner.group(0)
    assert "Disabled automatically: every delivery has failed since" in banner.group(0)
    assert "HTTP 500" in banner.group(0)
    assert "badge-endpoint-disabled" in content
    detail = admin_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert 'id="webhook-failing-banner"' in detail
    assert 'id="enable-endpoint"' in detail

    # Enabling clears it.
    response = admin_client.post(reverse("webhooks:enable", args=[endpoint.pk]))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None
    content = admin_client.get(reverse("webhooks:list")).content.decode()
    assert 'id="webhook-failing-banner"' not in content


def test_a_failing_endpoint_is_warned_about_before_it_is_disabled(admin_client, org, endpoint):
    since = timezone.now() - datetime.timedelta(days=2)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=since)
    content = admin_client.get(reverse("webhooks:list")).content.decode()
    assert 'id="webhook-failing-banner"' in content
    assert "it will be disabled on" in content
    assert "badge-endpoint-failing" in content


def _count_queries(client, url):
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_endpoints(admin_client, org, make_endpoint, allow_private):
    for n in range(5):
        make_endpoint(f"http://127.0.0.1:9/e{n}")
    few = _count_queries(admin_client, reverse("webhooks:list"))
    for n in range(5, 25):
        endpoint, _ = make_endpoint(f"http://127.0.0.1:9/e{n}")
        if n % 2:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    many = _count_queries(admin_client, reverse("webhooks:list"))
    assert many == few


def test_deliveries_queries_do_not_grow_with_rows(admin_client, org, endpoint, webhook_tasks):
    def emit(n):
        for _ in range(n):
            [delivery] = services.webhook_event_emit(
                org=org, event_type="sync.completed", payload={"id": "x"}
            )
            add_attempt(delivery)

    emit(5)
    url = reverse("webhooks:detail", args=[endpoint.pk])
    few = _count_queries(admin_client, url)
    emit(45)
    many = _count_queries(admin_client, url)
    assert many == few
    assert _count_queries(admin_client, url + "?status=pending") == few


def test_delivery_page_queries_do_not_grow_with_attempts(
    admin_client, org, endpoint, delivery, admin_user
):
    for _ in range(3):
        add_attempt(delivery, manual=True, actor=admin_user)
    url = reverse("webhooks:delivery", args=[endpoint.pk, delivery.pk])
    few = _count_queries(admin_client, url)
    for _ in range(30):
        add_attempt(delivery, manual=True, actor=admin_user)
    assert _count_queries(admin_client, url) == few


def test_long_lists_are_paginated(admin_client, org, endpoint, webhook_tasks):
    for _ in range(55):
        services.webhook_event_emit(org=org, event_type="sync.completed", payload={})
    url = reverse("webhooks:detail", args=[endpoint.pk])
    first = admin_client.get(url).content.decode()
    assert first.count("data-delivery-id=") == 50
    assert "Page 1 of 2" in first
    second = admin_client.get(url + "?page=2").content.decode()
    assert second.count("data-delivery-id=") == 5
    assert admin_client.get(url + "?page=zzz").status_code == 200
    assert admin_client.get(url + "?status=nonsense").status_code == 200


# --- add, secret once, edit ------------------------------------------------------------------


def test_the_add_form_says_what_each_event_is(admin_client, org):
    """Seen walking the demo: connection.status_changed was described as record.failed."""
    html = admin_client.get(reverse("webhooks:create")).content.decode()
    said = dict(re.findall(r"<code>([a-z_.]+)</code> <span class=\"muted\">— ([^<]+)</span>", html))
    assert set(said) == {
        "sync.completed",
        "sync.failed",
        "record.failed",
        "connection.status_changed",
    }
    assert len(set(said.values())) == len(said), said
    assert "stopped pushing" in said["connection.status_changed"]


def test_adding_an_endpoint_shows_its_secret_once(admin_client, org, allow_private):
    form = admin_client.get(reverse("webhooks:create"))
    assert form.status_code == 200
    assert b'type="checkbox"' in form.content

    response = admin_client.post(
        reverse("webhooks:create"),
        {
            "url": "http://127.0.0.1:9/new",
            "description": "ERP",
            "events": ["sync.completed", "record.failed"],
        },
    )

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.description, endpoint.events) == (
        "http://127.0.0.1:9/new",
        "ERP",
        ["sync.completed", "record.failed"],
    )
    secret = endpoint.secret
    content = response.content.decode()
    assert f'value="{secret}"' in content
    assert 'data-copy-target="endpoint-secret"' in content
    assert "no-store" in response["Cache-Control"]
    assert secret not in endpoint.secret_encrypted
    # Never again: not on the endpoint's pages.
    for url in (
        reverse("webhooks:detail", args=[endpoint.pk]),
        reverse("webhooks:edit", args=[endpoint.pk]),
        reverse("webhooks:list"),
    ):
        assert secret not in admin_client.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "field_words"),
    [
        ({"url": "http://127.0.0.1:9/x"}, "Choose at least one event"),
        ({"url": "", "events": ["sync.failed"]}, "This field is required"),
        ({"url": "not a url", "events": ["sync.failed"]}, "Enter a full URL"),
        ({"url": "http://127.0.0.1:9/x", "events": ["sync.exploded"]}, "Select a valid choice"),
        ({"url": "https://10.0.0.1/x", "events": ["sync.failed"]}, "private, loopback"),
    ],
)
def test_bad_input_is_a_form_error_never_a_500(admin_client, org, settings, data, field_words):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = "10.0.0.1" not in data.get("url", "")
    response = admin_client.post(reverse("webhooks:create"), data)
    assert response.status_code == 400
    assert field_words in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_editing_changes_url_and_events(admin_client, org, endpoint):
    url = reverse("webhooks:edit", args=[endpoint.pk])
    form = admin_client.get(url).content.decode()
    assert endpoint.url in form
    response = admin_client.post(
        url, {"url": "http://127.0.0.1:9/moved", "events": ["record.failed"], "description": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:detail", args=[endpoint.pk])
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == ("http://127.0.0.1:9/moved", ["record.failed"])


def test_a_refused_edit_changes_nothing(admin_client, org, endpoint, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = admin_client.post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"url": "https://169.254.169.254/", "events": ["sync.failed"]},
    )
    assert response.status_code == 400
    assert "private, loopback, link-local or reserved" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hook"


def test_disable_rotate_and_delete(admin_client, org, endpoint, delivery):
    old_secret = endpoint.secret
    assert admin_client.post(reverse("webhooks:disable", args=[endpoint.pk])).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    detail = admin_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "badge-endpoint-disabled" in detail and "Redeliver" not in detail

    rotated = admin_client.post(reverse("webhooks:rotate-secret", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert rotated.status_code == 200
    assert endpoint.secret != old_secret
    assert f'value="{endpoint.secret}"' in rotated.content.decode()

    response = admin_client.post(reverse("webhooks:delete", args=[endpoint.pk]))
    assert response["Location"] == reverse("webhooks:list")
    assert not WebhookEndpoint.objects.exists()


# --- deliveries ------------------------------------------------------------------------------


def test_deliveries_show_status_attempts_and_the_payload(
    admin_client, org, endpoint, delivery, admin_user
):
    add_attempt(delivery, status_code=500, body="upstream exploded")
    add_attempt(delivery, status_code=None, body="")
    WebhookDeliveryAttempt.objects.filter(status_code=None).update(
        error="No answer within 10 seconds."
    )
    add_attempt(delivery, status_code=200, body="thanks", manual=True, actor=admin_user)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SUCCESS, attempt_count=3, last_status_code=200
    )

    listing = admin_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert f'data-delivery-id="{delivery.pk}"' in listing
    assert "badge-delivery-success" in listing and "HTTP 200" in listing
    assert delivery.message.webhook_id in listing

    page = admin_client.get(reverse("webhooks:delivery", args=[endpoint.pk, delivery.pk]))
    content = page.content.decode()
    assert content.count("data-attempt-id=") == 3
    assert "HTTP 500" in content and "upstream exploded" in content
    assert "No answer within 10 seconds." in content
    assert f"Redelivery by {admin_user}" in content
    assert "&quot;run-1&quot;" in content and "&quot;sync.completed&quot;" in content
    assert 'id="redeliver"' in content


def test_redeliver_button_queues_a_new_attempt(
    admin_client,
    org,
    endpoint,
    delivery,
    admin_user,
    webhook_tasks,
    django_capture_on_commit_callbacks,
):
    webhook_tasks.clear()
    url = reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:delivery", args=[endpoint.pk, delivery.pk])
    assert webhook_tasks == [(delivery.pk, 0, "sync")]
    delivery.refresh_from_db()
    assert delivery.redeliver_requested_by == admin_user
    page = admin_client.get(response["Location"]).content.decode()
    assert "Redelivery started" in page


def test_redeliver_to_a_disabled_endpoint_says_why(admin_client, org, endpoint, delivery):
    services.webhook_endpoint_disable(endpoint=endpoint)
    response = admin_client.post(
        reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk]), follow=True
    )
    assert response.status_code == 200
    assert "enable it before redelivering" in response.content.decode()


@pytest.mark.django_db(transaction=True)  # a request's on-commit send runs in it, as live
def test_redeliver_with_the_broker_down_says_the_sweep_sends_it_and_when(
    admin_client, org, endpoint, admin_user, dead_broker, settings
):
    settings.WEBHOOK_SWEEP_INTERVAL_SECONDS = 240
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "run-1", "status_code": 2000}
    )
    url = reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk])

    response = admin_client.post(url, follow=True)

    assert response.status_code == 200
    page = re.sub(r"\s+", " ", response.content.decode())
    assert "Redelivery started" not in page
    # The sweep leaves a request SWEEP_GRACE (60 s), then runs every 240 s: 5 minutes at most.
    assert (
        "The task queue is unavailable right now, so the redelivery is saved for the periodic "
        "sweep: it goes out within 5 minutes of the queue answering again, and the attempt "
        "then appears below." in page
    )
    # And the note under it agrees, on this page and on every reload until it is sent.
    delivery.refresh_from_db()
    assert delivery.redeliver_left_to_sweep
    for shown in (page, pending_text(admin_client.get(response.request["PATH_INFO"]))):
        note = pending_note(shown)
        assert (
            f" by {admin_user}. The task queue was unavailable, so the periodic sweep sends it "
            "within 5 minutes of the queue answering again; its answer then appears below, "
            "and this page updates by itself." in note
        ), note
        assert "being sent" not in note and "reload" not in note
    assert delivery.redeliver_requested_at is not None
    assert delivery.redeliver_requested_by == admin_user


def test_post_only_actions_refuse_get(admin_client, endpoint):
    response = admin_client.get(reverse("webhooks:delete", args=[endpoint.pk]))
    assert response.status_code == 405
    assert WebhookEndpoint.objects.exists()


def test_redeliver_with_the_broker_down_answers_and_leaves_it_to_the_sweep(
    admin_client,
    org,
    endpoint,
    admin_user,
    dead_broker,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    # Emitted with the broker down too: its first send fails and is left to the sweep.
    with django_capture_on_commit_callbacks(execute=True) as sends:
        [delivery] = services.webhook_event_emit(
            org=org, event_type="sync.completed", payload={"id": "run-1", "status_code": 2000}
        )
    assert len(sends) == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    url = reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk])

    with django_capture_on_commit_callbacks(execute=True) as sends:
        response = admin_client.post(url)
    assert len(sends) == 1  # the send was tried (and failed)
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.redeliver_requested_at is not None
    assert delivery.redeliver_requested_by == admin_user

    # The broker is back: the sweep sends the redelivery once its task is overdue, and it is
    # the manual attempt that was asked for, logged with who.
    from webhooks import tasks

    sent = []
    monkeypatch.setattr(
        tasks.webhook_deliver,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append(args[0]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_deliveries_sweep() == 0
        later = timezone.now() + SWEEP_GRACE + datetime.timedelta(seconds=1)
        assert services.webhook_deliveries_sweep(now=later) == 1
    assert sent == [delivery.pk]
    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)
    assert attempt.manual and attempt.actor == admin_user
    delivery.refresh_from_db()
    assert (delivery.redeliver_requested_at, delivery.redeliver_left_to_sweep) == (None, False)


def pending_text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def pending_note(page: str) -> str:
    """The note that a redelivery waits for its answer."""
    start = page.index('id="redelivery-pending"')
    return page[start : page.index("</p>", start)]


def poll(client, url):
    """What htmx's poll of the delivery page's live part gets."""
    return client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery-live")


def test_a_queued_redelivery_is_being_sent_and_the_page_polls_until_its_answer(
    admin_client,
    org,
    other_org,
    endpoint,
    delivery,
    admin_user,
    webhook_tasks,
    client_for,
    django_capture_on_commit_callbacks,
):
    url = reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, follow=True)
    page = pending_text(response)
    assert "Redelivery started" in page
    note = pending_note(page)
    assert f" by {admin_user}. It is being sent: its answer appears below, and this page " in note
    assert "sweep" not in note and "reload" not in note
    page_url = reverse("webhooks:delivery", args=[endpoint.pk, delivery.pk])
    polling = f'<div id="delivery-live" hx-get="{page_url}" hx-trigger="every 2s"'
    assert polling in page

    # The poll gets the live part alone, still polling while the answer is awaited.
    waiting = pending_text(poll(admin_client, page_url))
    assert polling in waiting and 'id="payload"' not in waiting and "<html" not in waiting

    # The answer arrives: the poll shows it, and stops.
    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)
    answered = pending_text(poll(admin_client, page_url))
    assert f'data-attempt-id="{attempt.pk}"' in answered
    assert f"Redelivery by {admin_user}" in answered
    assert 'id="redelivery-pending"' not in answered and "hx-trigger" not in answered

    # Another organisation's admin polls nothing of it.
    outsider = client_for(MembershipFactory(org=other_org, role=Role.ADMIN).user)
    assert poll(outsider, page_url).status_code == 404
