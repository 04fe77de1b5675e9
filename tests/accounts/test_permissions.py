"""Each role × every page and action: allowed, sent to sign-in (pages), or 403 (actions).

The matrix is the README's Roles table as code; a test below checks that it names every
role-gated view and method, so a new page or action cannot ship without its row.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.models import Role
from accounts.services import api_key_create
from documents import services as document_services
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from synclog.models import EntryType, RecordStatus, StatusCode, SyncRecord, SyncRun, Trigger
from synclog.services import marking
from tests.factories import DocumentFactory, MembershipFactory
from webhooks import services as webhook_services
from webhooks import tasks as webhook_tasks

ALLOWED, SIGN_IN, FORBIDDEN = "allowed", "sign-in", "403"
ADMIN, CLERK, ACCOUNTING, SUPPORT = Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT
EVERYONE = {ADMIN, CLERK, ACCOUNTING, SUPPORT}
# Accounting Sync History; Sync Health; retrying failed items (a run's, or a Requires-attention
# group's): README, Roles.
HISTORY = {ADMIN, ACCOUNTING}
HEALTH = {ADMIN, ACCOUNTING, SUPPORT}
RETRY = {ADMIN, SUPPORT}

# (name, method, url name, status of the document it needs, who may)
MATRIX = [
    ("documents list", "get", "documents:list", None, EVERYONE),
    ("document detail", "get", "documents:detail", "awaiting_approval", EVERYONE),
    ("new document form", "get", "documents:create", None, {ADMIN, CLERK}),
    ("create document", "post", "documents:create", None, {ADMIN, CLERK}),
    ("edit form", "get", "documents:edit", "awaiting_approval", {ADMIN, CLERK}),
    ("edit document", "post", "documents:edit", "awaiting_approval", {ADMIN, CLERK}),
    ("submit", "post", "documents:submit", "draft", {ADMIN, CLERK}),
    ("approve", "post", "documents:approve", "awaiting_approval", {ADMIN, CLERK}),
    ("payment form", "get", "documents:pay", "approved", {ADMIN, CLERK}),
    ("record payment", "post", "documents:pay", "approved", {ADMIN, CLERK}),
    ("mark paid", "post", "documents:mark-paid", "approved", {ADMIN, CLERK}),
    ("void", "post", "documents:void", "approved", {ADMIN, CLERK}),
    ("attach file", "post", "documents:attachment-upload", "approved", {ADMIN, CLERK}),
    ("download attachment", "get", "documents:attachment-download", "approved", EVERYONE),
    # A document's Integrations tab and its Re-sync; bulk re-sync.
    ("integrations tab", "get", "synclog:document-integrations", "approved", EVERYONE),
    ("integration log", "get", "synclog:document-integration-log", "approved", EVERYONE),
    ("re-sync a document", "post", "synclog:document-resync", "approved", EVERYONE),
    ("re-sync preview", "get", "synclog:document-resync-preview", "approved", EVERYONE),
    ("push as a new entry", "post", "synclog:document-push-new", "approved", EVERYONE),
    # Accept the ledger's version of a drifted entry: an Update Sync Status of one record.
    ("accept the ledger's", "post", "synclog:document-accept-ledger", "approved", HISTORY),
    ("bulk re-sync confirm", "post", "synclog:bulk-confirm", None, EVERYONE),
    ("bulk re-sync preview", "post", "synclog:bulk-preview", None, EVERYONE),
    ("bulk re-sync", "post", "synclog:bulk-resync", None, EVERYONE),
    ("bulk progress", "get", "synclog:bulk-progress", None, EVERYONE),
    # Requires attention: everyone sees it; support and admin retry a group.
    ("requires attention", "get", "synclog:attention", None, EVERYONE),
    ("attention group", "get", "synclog:attention-group", None, EVERYONE),
    ("retry an attention group", "post", "synclog:attention-retry", None, RETRY),
    ("retry a failed chain", "post", "synclog:attention-chain-retry", "approved", RETRY),
    # Accept the ledger's version for a group of drifted entries: Update Sync Status of each.
    (
        "accept the ledger's for a group, form",
        "get",
        "synclog:attention-accept-ledger",
        None,
        HISTORY,
    ),
    ("accept the ledger's for a group", "post", "synclog:attention-accept-ledger", None, HISTORY),
    # Accounting Sync History.
    ("sync history", "get", "synclog:history", None, HISTORY),
    ("update sync status", "post", "synclog:history-update-status", None, HISTORY),
    ("export sync history", "get", "synclog:history-export", None, HISTORY),
    # Sync Health.
    ("sync health", "get", "synclog:health", None, HEALTH),
    ("sync run", "get", "synclog:health-run", None, HEALTH),
    ("retry a run's failed items", "post", "synclog:health-run-retry", None, RETRY),
    ("connection config", "get", "synclog:health-connection-config", None, HEALTH),
    (
        "connection config download",
        "get",
        "synclog:health-connection-config-download",
        None,
        HEALTH,
    ),
    ("connection recent runs", "get", "synclog:health-connection-runs", None, HEALTH),
    ("event log", "get", "synclog:events", None, EVERYONE),
    # Integrations, webhooks and API keys: admins only.
    ("integrations", "get", "integrations:list", None, {ADMIN}),
    ("connect", "post", "integrations:list", None, {ADMIN}),
    ("oauth callback", "get", "integrations:callback", None, {ADMIN}),
    ("choose a ledger organisation", "get", "integrations:choose", None, {ADMIN}),
    ("choose the ledger organisation", "post", "integrations:choose", None, {ADMIN}),
    ("connection", "get", "integrations:detail", None, {ADMIN}),
    ("mappings", "get", "integrations:mappings", None, {ADMIN}),
    ("save mappings", "post", "integrations:mappings", None, {ADMIN}),
    ("connection action", "post", "integrations:action", None, {ADMIN}),
    ("locked-period policy", "post", "integrations:locked-periods", None, {ADMIN}),
    ("ledger check", "get", "integrations:ledger-check", None, {ADMIN}),
    ("check the ledger now", "post", "integrations:ledger-check", None, {ADMIN}),
    ("webhooks", "get", "webhooks:list", None, {ADMIN}),
    ("new webhook form", "get", "webhooks:create", None, {ADMIN}),
    ("add webhook", "post", "webhooks:create", None, {ADMIN}),
    ("webhook", "get", "webhooks:detail", None, {ADMIN}),
    ("edit webhook form", "get", "webhooks:edit", None, {ADMIN}),
    ("edit webhook", "post", "webhooks:edit", None, {ADMIN}),
    ("enable webhook", "post", "webhooks:enable", None, {ADMIN}),
    ("disable webhook", "post", "webhooks:disable", None, {ADMIN}),
    ("rotate webhook secret", "post", "webhooks:rotate-secret", None, {ADMIN}),
    ("delete webhook", "post", "webhooks:delete", None, {ADMIN}),
    ("webhook delivery", "get", "webhooks:delivery", None, {ADMIN}),
    ("redeliver", "post", "webhooks:redeliver", None, {ADMIN}),
    ("api keys", "get", "api_keys:list", None, {ADMIN}),
    ("create api key", "post", "api_keys:list", None, {ADMIN}),
    ("revoke api key", "post", "api_keys:revoke", None, {ADMIN}),
]


class Targets:
    """The objects a URL names, made on first use (each case makes only what its URL needs)."""

    def __init__(self, org, vendor, status, admin):
        self.org, self.vendor, self.status, self.admin = org, vendor, status, admin
        self._made = {}

    def get(self, name):
        if name not in self._made:
            self._made[name] = getattr(self, f"make_{name}")()
        return self._made[name]

    def make_document(self):
        return DocumentFactory(org=self.org, contact=self.vendor, status=self.status)

    def make_attachment(self):
        return document_services.attachment_add(
            document=self.get("document"),
            upload=SimpleUploadedFile("r.pdf", b"%PDF-1.4 receipt", "application/pdf"),
            actor=self.admin,
        )

    def make_connection(self):
        return Connection.objects.create(
            org=self.org, provider=Provider.XERO, name="Books", tenant_name="Demo"
        )

    def make_failed_record(self):
        record = SyncRecord.objects.create(
            org=self.org,
            connection=self.get("connection"),
            document=DocumentFactory(org=self.org, status=DocumentStatus.APPROVED),
            entry_type=EntryType.BILL,
            status=RecordStatus.FAILED,
            last_error_code=StatusCode.CONFIGURATION,
            last_error_message="Account code '999' is not a valid code.",
        )
        record.refresh_from_db()
        return record

    def make_drifted_record(self):
        record = SyncRecord.objects.create(
            org=self.org,
            connection=self.get("connection"),
            document=self.get("document"),
            entry_type=EntryType.BILL,
            status=RecordStatus.FAILED,
            last_error_code=StatusCode.DATA_PUSH,
            last_error_message="Changed in Xero since ledgersync pushed it",
        )
        record.refresh_from_db()
        return record

    def make_run(self):
        now = datetime.datetime.now(datetime.UTC)
        return SyncRun.objects.create(
            org=self.org,
            connection=self.get("connection"),
            trigger=Trigger.BULK,
            status_code=StatusCode.SUCCESS,
            started_at=now,
            finished_at=now,
        )

    def make_endpoint(self):
        endpoint, _secret = webhook_services.webhook_endpoint_create(
            org=self.org, url="http://127.0.0.1:9/hook", events=["sync.completed"], actor=None
        )
        return endpoint

    def make_delivery(self):
        self.get("endpoint")
        [delivery] = webhook_services.webhook_event_emit(
            org=self.org, event_type="sync.completed", payload={"id": "run-1"}
        )
        return delivery

    def make_api_key(self):
        return api_key_create(org=self.org, name="Partner", actor=self.admin).api_key

    def url_args(self, url_name) -> dict:
        """The URL's keyword arguments, from the names its pattern takes."""
        _view, arguments = _patterns()[url_name]
        kwargs = {}
        for name in arguments:
            if name in ("document_id", "attachment_id", "connection_id", "endpoint_id"):
                kwargs[name] = self.get(name.removesuffix("_id")).pk
            elif name == "record_id":
                kwargs[name] = self.get("drifted_record").pk
            elif name == "delivery_id":
                kwargs[name] = self.get("delivery").pk
            elif name == "api_key_id":
                kwargs[name] = self.get("api_key").pk
            elif name == "public_id":
                kwargs[name] = self.get("run").public_id
            elif name in ("code", "digest"):
                record = self.get("failed_record")
                kwargs.update(
                    connection_id=record.connection_id,
                    code=record.last_error_code,
                    digest=record.last_error_digest,
                )
            elif name == "action":
                kwargs[name] = "disable"
            else:  # pragma: no cover - a new URL argument needs a line above
                raise AssertionError(f"{url_name}: no target for <{name}>")
        return kwargs


def _post_data(url_name, targets):
    if url_name in ("documents:create", "documents:edit"):
        return {
            "kind": "bill",
            "number": "NEW-1",
            "contact": targets.vendor.pk,
            "issue_date": "2026-11-01",
            "due_date": "2026-11-30",
            "currency": "EUR",
            "total": "100.00",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "0",
            "form-0-description": "Paper",
            "form-0-quantity": "1",
            "form-0-unit_amount": "100.00",
        }
    if url_name == "documents:pay":
        return {"amount": "10.00", "paid_at": datetime.date(2026, 11, 5).isoformat()}
    if url_name == "documents:attachment-upload":
        return {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.4 receipt", "application/pdf")}
    if url_name == "api_keys:list":
        return {"name": "Partner"}
    return {}


def _patterns() -> dict[str, tuple]:
    """Every named URL as "namespace:name" → (its view, the names of its arguments in order)."""
    found = {}

    def walk(patterns, namespace, arguments):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = (*arguments, *entry.pattern.converters)
                walk(entry.url_patterns, entry.namespace or namespace, inner)
            elif entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found[name] = (entry.callback, (*arguments, *entry.pattern.converters))

    walk(get_resolver().url_patterns, None, ())
    return found


@pytest.fixture
def quiet_workers(monkeypatch, settings):
    """Retries and redeliveries are accepted, but nothing is sent to a broker or a URL."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    monkeypatch.setattr(marking, "sync_records_enqueue", lambda *args, **kwargs: None)
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "apply_async", lambda *a, **k: None)


@pytest.mark.parametrize("role", [ADMIN, CLERK, ACCOUNTING, SUPPORT])
@pytest.mark.parametrize(
    ("name", "method", "url_name", "status", "allowed_roles"),
    MATRIX,
    ids=[row[0] for row in MATRIX],
)
def test_role_matrix(
    client,
    org,
    vendor,
    settings,
    tmp_path,
    quiet_workers,
    role,
    name,
    method,
    url_name,
    status,
    allowed_roles,
):
    settings.MEDIA_ROOT = tmp_path
    admin = MembershipFactory(org=org, role=ADMIN).user
    user = MembershipFactory(org=org, role=role, can_export=True).user
    targets = Targets(org, vendor, status, admin)
    url = reverse(url_name, kwargs=targets.url_args(url_name))
    document = targets._made.get("document")
    runs_before = SyncRun.objects.count()
    client.force_login(user)

    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, _post_data(url_name, targets))

    if role in allowed_roles:
        assert response.status_code in (200, 302, 400), response.content[:500]
        if response.status_code == 302:
            assert not response.url.startswith(reverse("login"))
    elif method == "get":
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")
    else:
        assert response.status_code == 403
        assert SyncRun.objects.count() == runs_before
        if document is not None:
            before = document.status
            document.refresh_from_db()
            assert document.status == before
            assert document.payments.count() == 0


def test_the_matrix_names_every_role_gated_view_and_method():
    """A page or action gated on a role must have its row above (and so in README's table)."""
    gated = set()
    for url_name, (view, _arguments) in _patterns().items():
        view_class = getattr(view, "view_class", None)
        if view_class is None or not issubclass(view_class, OrgPermissionRequiredMixin):
            continue
        for method in ("get", "post"):
            if hasattr(view_class, method):
                gated.add((url_name, method))
    assert gated == {(url_name, method) for _, method, url_name, _, _ in MATRIX}


@pytest.mark.parametrize("url_name", ["documents:list", "documents:create"])
def test_anonymous_user_is_sent_to_sign_in(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_action_is_refused(client, bill):
    response = client.post(reverse("documents:approve", args=[bill.pk]))
    assert response.status_code == 403
    bill.refresh_from_db()
    assert bill.status == DocumentStatus.AWAITING_APPROVAL


def test_user_without_membership_is_sent_to_sign_in(client, django_user_model, db):
    user = django_user_model.objects.create_user("loner", password="x")
    client.force_login(user)
    response = client.get(reverse("documents:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_sign_in_page_explains_a_missing_role(client, org):
    user = MembershipFactory(org=org, role=Role.SUPPORT).user
    client.force_login(user)
    response = client.get(reverse("documents:create"), follow=True)
    assert b"does not give access to that page" in response.content


def test_sign_in_and_sign_out(client, org):
    from tests.factories import TEST_PASSWORD

    user = MembershipFactory(org=org, role=Role.AP_CLERK).user
    response = client.post(
        reverse("login"), {"username": user.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("documents:list")
    assert response.context["user"].is_authenticated
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated

    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
