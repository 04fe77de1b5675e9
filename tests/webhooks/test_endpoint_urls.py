"""Endpoint URLs: https on public addresses outside development; checked again at delivery."""

import pytest
from django.core.exceptions import ValidationError

from webhooks import services
from webhooks.models import DeliveryStatus, WebhookEndpoint

PUBLIC_IP = "93.184.215.14"


def create(org, url, events=("sync.completed",)):
    return services.webhook_endpoint_create(org=org, url=url, events=list(events))


def url_errors(org, url) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        create(org, url)
    return raised.value.message_dict["url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.9/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::5]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
        "https://240.0.0.1/hook",
        "https://localhost/hook",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(org, refuse_private, url):
    [error] = url_errors(org, url)
    assert "private, loopback, link-local or reserved" in error
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]/hook",  # IPv4-compatible (deprecated) loopback
        "https://[::10.0.0.7]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "https://[::ffff:169.254.169.254]/hook",
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
        "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "https://[64:ff9b::c0a8:114]/hook",  # NAT64 of 192.168.1.20
        "https://[64:ff9b:1::7f00:1]/hook",  # local-use NAT64 prefix: never public
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(org, refuse_private, url):
    [error] = url_errors(org, url)
    assert "private, loopback, link-local or reserved" in error
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "address", ["64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "::ffff:93.184.215.14"]
)
def test_ipv6_forms_of_a_public_ipv4_address_are_accepted(org, refuse_private, fake_dns, address):
    fake_dns["hooks.example.com"] = [address]
    endpoint, _secret = create(org, "https://hooks.example.com/in")
    assert endpoint.url == "https://hooks.example.com/in"


def test_a_host_name_resolving_to_a_private_address_is_refused(org, refuse_private, fake_dns):
    fake_dns["hooks.example.com"] = [PUBLIC_IP, "10.0.0.7"]  # any private answer refuses
    [error] = url_errors(org, "https://hooks.example.com/in")
    assert error.startswith("hooks.example.com resolves to 10.0.0.7")


def test_a_public_https_url_is_accepted(org, refuse_private, fake_dns):
    fake_dns["hooks.example.com"] = [PUBLIC_IP, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    endpoint, secret = create(org, "  https://hooks.example.com/in?x=1  ")
    assert endpoint.url == "https://hooks.example.com/in?x=1"
    assert endpoint.secret == secret
    assert secret not in endpoint.secret_encrypted


def test_plain_http_is_refused_outside_development(org, refuse_private, fake_dns):
    fake_dns["hooks.example.com"] = [PUBLIC_IP]
    [error] = url_errors(org, "http://hooks.example.com/in")
    assert "https" in error


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Enter the URL"),
        ("hooks.example.com/in", "full URL"),
        ("ftp://hooks.example.com/in", "full URL"),
        ("https://", "full URL"),
        ("https://hooks.example.com:99999/in", "full URL"),
        ("https://user:pw@hooks.example.com/in", "no user name or password"),
        ("https://hooks.example.com/in#part", "fragment"),
        ("https://no-such-host.invalid/in", "could not be resolved"),
        ("https://hooks.example.com/" + "a" * 2000, "at most 2000"),
    ],
)
def test_malformed_urls_get_a_field_error(org, refuse_private, fake_dns, url, words):
    fake_dns["hooks.example.com"] = [PUBLIC_IP]
    [error] = url_errors(org, url)
    assert words in error


def test_development_may_use_loopback_and_http(org, allow_private):
    endpoint, _secret = create(org, "http://127.0.0.1:9/hook")
    assert endpoint.url == "http://127.0.0.1:9/hook"


def test_the_setting_defaults_to_debug(org, settings):
    if hasattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS"):
        del settings.WEBHOOK_ALLOW_PRIVATE_URLS
    settings.DEBUG = False
    with pytest.raises(ValidationError):
        create(org, "https://127.0.0.1/hook")
    settings.DEBUG = True
    create(org, "https://127.0.0.1/hook")


def test_an_update_to_a_private_url_is_refused_and_changes_nothing(org, refuse_private, fake_dns):
    fake_dns["hooks.example.com"] = [PUBLIC_IP]
    endpoint, _secret = create(org, "https://hooks.example.com/in")
    with pytest.raises(ValidationError) as raised:
        services.webhook_endpoint_update(endpoint=endpoint, url="https://10.0.0.1/in")
    assert "url" in raised.value.message_dict
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"


def test_a_host_that_resolves_elsewhere_at_delivery_time_gets_nothing(
    org, settings, fake_dns, receiver, webhook_tasks
):
    """DNS rebinding: public when saved, loopback when sent: refused, logged, nothing sent."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    fake_dns["hooks.example.com"] = [PUBLIC_IP]
    create(org, f"https://hooks.example.com:{receiver.port}/in")
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "x"}
    )
    fake_dns["hooks.example.com"] = ["127.0.0.1"]

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert receiver.requests == []
    assert attempt.status_code is None
    assert attempt.error.startswith("Not sent: hooks.example.com resolves to 127.0.0.1")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # retried: DNS may be fixed by then


def test_a_host_that_stops_resolving_is_a_logged_failure(
    org, allow_private, fake_dns, webhook_tasks, monkeypatch
):
    import socket

    fake_dns["hooks.example.com"] = [PUBLIC_IP]
    create(org, "https://hooks.example.com/in")
    [delivery] = services.webhook_event_emit(org=org, event_type="sync.completed", payload={})

    def no_answer(host, port, *args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_answer)
    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)
    assert attempt.error == "Not sent: hooks.example.com could not be resolved."
