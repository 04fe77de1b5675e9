"""Webhook fixtures: a real HTTP receiver on a loopback port, captured tasks, endpoints."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.factories import MembershipFactory

# The sync engine's fixtures (a connection to the in-process Xero emulator, `drain`), for the
# payloads built from real runs and records.
from tests.synclog.conftest import connection, drain, enqueued, office  # noqa: F401
from webhooks import services
from webhooks.models import WebhookDelivery


@pytest.fixture(autouse=True)
def webhook_urls(settings):
    settings.ROOT_URLCONF = "tests.webhooks.urls"


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def refuse_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


@pytest.fixture
def admin_user(org):
    return MembershipFactory(org=org, role=Role.ADMIN).user


@pytest.fixture
def webhook_tasks(monkeypatch):
    """Deliveries sent to the broker as (delivery id, countdown, queue), instead of sending them."""
    from webhooks import tasks

    sent = []
    monkeypatch.setattr(
        tasks.webhook_deliver,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append((args[0], countdown, queue)),
    )
    return sent


class Receiver:
    """What the test HTTP server was sent, and what it answers next."""

    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.requests: list[dict] = []
        self.status = 200
        self.body = b'{"ok": true}'
        self.extra_headers: dict[str, str] = {}
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hooks/ledgersync", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def receiver():
    """A real HTTP server on a free loopback port, in a thread, for the test's duration."""
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver = state["receiver"]
            with receiver.lock:
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                status, answer, extra = receiver.status, receiver.body, receiver.extra_headers
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # a client that hung up
    state["receiver"] = receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake_dns(monkeypatch):
    """Resolve chosen host names to chosen addresses (others as usual): `fake_dns[name] = [ip]`."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            result = []
            for address in answers[host]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
                result.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return result
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def make_endpoint(org, admin_user):
    def make(url, events=("sync.completed", "sync.failed", "record.failed"), owner=None):
        endpoint, secret = services.webhook_endpoint_create(
            org=owner or org, url=url, events=list(events), actor=admin_user
        )
        return endpoint, secret

    return make


def run_due(delivery: WebhookDelivery):
    """Play the worker when the delivery's next attempt is due: make it due now and send it."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return services.webhook_delivery_send(delivery_id=delivery.pk)


def sent_json(request: dict) -> dict:
    return json.loads(request["body"])
