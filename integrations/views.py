"""Integrations settings for admins: connect (OAuth2), test, map, disable, disconnect, reconnect."""

import logging
import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from documents.selectors import category_list, department_list, vendor_list
from integrations import selectors, services
from integrations.connectors.errors import (
    ConfigurationError,
    ConnectorError,
    RateLimitedError,
    TransientError,
)
from integrations.forms import (
    SPEND_KINDS,
    ConnectForm,
    LockedPeriodPolicyForm,
    MappingForm,
    TenantChoiceForm,
)
from integrations.models import ConnectionStatus
from synclog import services as sync_services
from synclog.selectors.document_state import connection_unpushed_documents
from synclog.selectors.locks import connection_held_count, lock_date_words
from synclog.selectors.reconcile import connection_reconcile_state

SESSION_OAUTH_KEY = "integrations_oauth"
# A consent waiting for the admin's choice of organisation (its tokens encrypted).
SESSION_CONSENT_KEY = "integrations_consent"

logger = logging.getLogger(__name__)


def ledger_error_text(error: ConnectorError) -> str:
    """What a flash message says about a ledger error: our explanation and hint, never the
    ledger's raw answer (logged instead; it may be any page an address answers with)."""
    logger.warning(
        "Ledger error shown to an admin (%s, HTTP %s): %s | raw: %s",
        type(error).__name__,
        error.http_status,
        error.message,
        error.raw[:2000],
    )
    if isinstance(error, ConfigurationError):
        summary = error.message  # ours: names what to set up
    elif isinstance(error, RateLimitedError):
        summary = error.message  # ours, from the ledger's Retry-After: says when to try again
    elif isinstance(error, TransientError):
        summary = "The ledger did not answer or failed."
    elif error.status_code == 4220:
        summary = "The ledger did not grant ledgersync access."
    else:
        summary = "The ledger refused the request."
    if error.http_status and error.http_status >= 300:
        summary = f"{summary[:-1]} (HTTP {error.http_status})."
    return " ".join(part for part in (summary, error.explanation, error.hint) if part)


class IntegrationsView(OrgPermissionRequiredMixin, View):
    permission = Perm.MANAGE_INTEGRATIONS


def _start_oauth(request, *, provider: str, base_url: str, name: str, connection_id=None):
    state = secrets.token_urlsafe(24)
    url = services.connection_authorization_url(
        provider=provider,
        base_url=base_url,
        redirect_uri=request.build_absolute_uri(reverse("integrations:callback")),
        state=state,
    )
    # The state ties the ledger's redirect back to this user's request (CSRF for OAuth).
    request.session[SESSION_OAUTH_KEY] = {
        "state": state,
        "org_id": request.org.pk,
        "provider": provider,
        "base_url": base_url,
        "name": name,
        "connection_id": connection_id,
    }
    return redirect(url)


class ConnectionListView(IntegrationsView):
    def get(self, request):
        return render(
            request,
            "integrations/connection_list.html",
            {
                "connections": selectors.connection_list(org=request.org),
                "form": ConnectForm(),
            },
        )

    def post(self, request):
        form = ConnectForm(request.POST)
        if form.is_valid():
            try:
                return _start_oauth(
                    request,
                    provider=form.cleaned_data["provider"],
                    base_url=form.cleaned_data.get("base_url", ""),
                    name=form.cleaned_data["name"],
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
        return render(
            request,
            "integrations/connection_list.html",
            {"connections": selectors.connection_list(org=request.org), "form": form},
            status=400,
        )


class OAuthCallbackView(IntegrationsView):
    def get(self, request):
        pending = request.session.pop(SESSION_OAUTH_KEY, None)
        if (
            not pending
            or not secrets.compare_digest(pending["state"], request.GET.get("state", ""))
            or pending["org_id"] != request.org.pk
        ):
            messages.error(request, "That sign-in to the ledger expired or was not started here.")
            return redirect("integrations:list")
        if request.GET.get("error") or not request.GET.get("code"):
            messages.warning(request, "The ledger did not grant access; nothing was connected.")
            return redirect("integrations:list")
        connection = None
        if pending["connection_id"]:
            connection = selectors.connection_get(
                org=request.org, connection_id=pending["connection_id"]
            )
        try:
            connection = services.connection_complete_oauth(
                org=request.org,
                actor=request.user,
                provider=pending["provider"],
                base_url=pending["base_url"],
                # Every parameter: a ledger may name the tenant there (QBO's realmId).
                callback=request.GET.dict(),
                redirect_uri=request.build_absolute_uri(reverse("integrations:callback")),
                name=pending["name"],
                connection=connection,
            )
        except services.TenantChoiceRequired as choice:
            request.session[SESSION_CONSENT_KEY] = {
                "org_id": request.org.pk,
                "name": pending["name"],
                "consent": choice.consent.sealed(),
            }
            return redirect("integrations:choose")
        except ConnectorError as error:
            messages.error(request, f"Connecting failed: {ledger_error_text(error)}")
            return redirect("integrations:list")
        except ValidationError as error:
            messages.error(request, f"Connecting failed: {' '.join(error.messages)}")
            return redirect("integrations:list")
        return _connected(request, connection)


def _connected(request, connection):
    messages.success(
        request, f"Connected to {connection.tenant_name}. Map your categories and departments."
    )
    return redirect("integrations:mappings", connection_id=connection.pk)


class TenantChoiceView(IntegrationsView):
    """After a consent with several organisations (or one already connected to another
    organisation here): the admin chooses which one this connection pushes to."""

    template_name = "integrations/choose_tenant.html"

    def _pending(self, request):
        pending = request.session.get(SESSION_CONSENT_KEY)
        if not pending or pending["org_id"] != request.org.pk:
            return None, None
        consent = services.LedgerConsent.unsealed(pending["consent"])
        return pending, consent

    def _render(self, request, consent, form, status=200):
        bound = {
            tenant.tenant_id
            for tenant in consent.tenants
            if selectors.connection_tenant_bound_elsewhere(
                org=request.org,
                provider=consent.provider,
                base_url=consent.base_url,
                tenant_id=tenant.tenant_id,
            )
        }
        return render(
            request,
            self.template_name,
            {"form": form, "tenants": consent.tenants, "bound": bound},
            status=status,
        )

    def get(self, request):
        pending, consent = self._pending(request)
        if consent is None:
            return self._expired(request)
        return self._render(request, consent, TenantChoiceForm(tenants=consent.tenants))

    def post(self, request):
        pending, consent = self._pending(request)
        if consent is None:
            return self._expired(request)
        if "cancel" in request.POST:
            request.session.pop(SESSION_CONSENT_KEY, None)
            messages.info(request, "Nothing was connected.")
            return redirect("integrations:list")
        form = TenantChoiceForm(request.POST, tenants=consent.tenants)
        if form.is_valid():
            try:
                connection = services.connection_bind(
                    org=request.org,
                    actor=request.user,
                    consent=consent,
                    tenant_id=form.cleaned_data["tenant_id"],
                    name=pending["name"],
                    confirm_shared=form.cleaned_data["confirm_shared"],
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                request.session.pop(SESSION_CONSENT_KEY, None)
                return _connected(request, connection)
        return self._render(request, consent, form, status=400)

    def _expired(self, request):
        request.session.pop(SESSION_CONSENT_KEY, None)
        messages.error(request, "That sign-in to the ledger expired; connect again.")
        return redirect("integrations:list")


def _unpushed_context(connection) -> dict:
    """Right after Connect: how many documents are not in the ledger yet, and what to map
    before pushing them (else they fail on it)."""
    documents = connection_unpushed_documents(connection=connection)
    count = documents.count()
    return {
        "unpushed_count": count,
        "unmapped": selectors.connection_unmapped_before_push(
            connection=connection, documents=documents
        )
        if count
        else None,
    }


def _render_detail(request, connection, *, policy_form=None, status=200):
    mapping_counts = {}
    for mapping in selectors.mapping_index(connection=connection).values():
        mapping_counts[mapping.kind] = mapping_counts.get(mapping.kind, 0) + 1
    return render(
        request,
        "integrations/connection_detail.html",
        {
            "connection": connection,
            "mapping_counts": mapping_counts,
            "events": selectors.connection_event_list(connection=connection),
            "lock_words": lock_date_words(connection=connection),
            "held_count": connection_held_count(connection=connection),
            "reconcile": connection_reconcile_state(connection=connection),
            "policy_form": policy_form
            or LockedPeriodPolicyForm(
                initial={"locked_period_policy": connection.locked_period_policy}
            ),
            **_unpushed_context(connection),
        },
        status=status,
    )


class ConnectionDetailView(IntegrationsView):
    def get(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        return _render_detail(request, connection)


class LedgerCheckView(IntegrationsView):
    """ "Check the ledger now" (the reconcile at once, not at beat's next turn) and the
    reconcile's state: htmx swaps the section in after a click, and polls it while a check is
    queued or running; without JS the POST comes back to the page with a message."""

    template_name = "integrations/_ledger_check.html"

    def get(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        if not request.htmx:
            return redirect(_ledger_check_anchor(connection))
        return self._section(request, connection)

    def post(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        ledger = connection.get_provider_display()
        try:
            sync_services.connection_reconcile_request(connection=connection, actor=request.user)
        except ValidationError as error:
            notice, level = " ".join(error.messages), messages.WARNING
        else:
            notice, level = (
                f"Checking {ledger} now: what changed there since the last check is read once "
                "the pushes people are waiting for have gone; what differs shows on each "
                "document's Integrations tab and in Requires attention.",
                messages.SUCCESS,
            )
        if request.htmx:
            return self._section(
                request, connection, notice=notice, level=messages.DEFAULT_TAGS[level]
            )
        messages.add_message(request, level, notice)
        return redirect(_ledger_check_anchor(connection))

    def _section(self, request, connection, *, notice: str = "", level: str = ""):
        return render(
            request,
            self.template_name,
            {
                "connection": connection,
                "reconcile": connection_reconcile_state(connection=connection),
                "notice": notice,
                "notice_level": level,
            },
        )


def _ledger_check_anchor(connection) -> str:
    return reverse("integrations:detail", args=[connection.pk]) + "#ledger-check"


class LockedPeriodPolicyView(IntegrationsView):
    """What a push dated in the ledger's locked period does (held or re-dated): audited."""

    def post(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        form = LockedPeriodPolicyForm(request.POST)
        if not form.is_valid():
            return _render_detail(request, connection, policy_form=form, status=400)
        try:
            services.connection_locked_period_policy_set(
                connection=connection,
                policy=form.cleaned_data["locked_period_policy"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
            return _render_detail(request, connection, policy_form=form, status=400)
        messages.success(
            request, f"Locked periods: {connection.get_locked_period_policy_display()}."
        )
        return redirect("integrations:detail", connection_id=connection.pk)


class ConnectionActionView(IntegrationsView):
    """Test, disable, enable, disconnect or reconnect one connection."""

    def post(self, request, connection_id, action):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        back = redirect("integrations:detail", connection_id=connection.pk)
        try:
            if action == "test":
                check = services.connection_test(connection=connection)
                messages.success(request, f"Connection works: connected to {check.tenant_name}.")
            elif action == "disable":
                services.connection_disable(connection=connection, actor=request.user)
                messages.success(request, f"{connection.name} disabled: nothing syncs to it now.")
            elif action == "enable":
                services.connection_enable(connection=connection, actor=request.user)
                messages.success(request, f"{connection.name} enabled.")
            elif action == "disconnect":
                services.connection_disconnect(connection=connection, actor=request.user)
                messages.success(
                    request,
                    f"{connection.name} disconnected: its credentials are deleted; its history is "
                    "kept.",
                )
            elif action == "lock-date":
                services.connection_lock_date_refresh(connection=connection)
                messages.success(request, lock_date_words(connection=connection))
            elif action == "force":
                return _force_sync(request, connection)
            elif action == "reconnect":
                return _start_oauth(
                    request,
                    provider=connection.provider,
                    base_url=connection.base_url,
                    name=connection.name,
                    connection_id=connection.pk,
                )
            else:
                return redirect("integrations:detail", connection_id=connection.pk)
        except ConnectorError as error:
            messages.error(request, ledger_error_text(error))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return back


def _force_sync(request, connection):
    """Force sync (catch-up): push everything not Complete on this connection, then show the run
    in Sync Health."""
    if connection.status != ConnectionStatus.ACTIVE:
        # A run on a paused connection would wait, in progress, until it is enabled again.
        messages.error(request, "Force sync needs an active connection: enable or reconnect first.")
        return redirect("integrations:detail", connection_id=connection.pk)
    run = sync_services.force_sync(org=request.org, connection=connection, actor=request.user)
    if run.total:
        messages.success(
            request,
            f"Force sync started: {run.total} entr{'y' if run.total == 1 else 'ies'} to push.",
        )
    else:
        messages.info(request, "Force sync: everything is already in the ledger.")
    return redirect("synclog:health-run", public_id=run.public_id)


class MappingView(IntegrationsView):
    template_name = "integrations/mappings.html"

    def _form(self, request, connection, choices, data=None):
        accounts = [(a.external_id, f"{a.code} {a.name}") for a in choices.bookable_accounts]
        return MappingForm(
            data,
            categories=category_list(org=request.org),
            departments=department_list(org=request.org),
            vendors=vendor_list(org=request.org),
            choices={
                "accounts": accounts,
                "bank_accounts": [(a.code, f"{a.code} {a.name}") for a in choices.bank_accounts],
                "tracking": [
                    (o.option_id, f"{o.category_name}: {o.option_name}")
                    for o in choices.tracking_options
                ],
                "contacts": [(c.external_id, c.name) for c in choices.contacts],
            },
            mappings=selectors.mapping_index(connection=connection),
            connection=connection,
        )

    def _choices_or_error(self, request, connection):
        if connection.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.DISABLED):
            messages.error(request, "Reconnect first: the ledger's lists cannot be read now.")
            return None
        try:
            return selectors.connection_ledger_choices(connection=connection)
        except ConnectorError as error:
            if error.status_code == 4220:
                services.connection_mark_needs_reauth(connection=connection, error=error)
            messages.error(request, ledger_error_text(error))
            return None

    def get(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = self._choices_or_error(request, connection)
        if choices is None:
            return redirect("integrations:detail", connection_id=connection.pk)
        form = self._form(request, connection, choices)
        # Right after Connect this is the admin's page: say what is not in the ledger yet.
        return render(
            request,
            self.template_name,
            {"connection": connection, "form": form, **_unpushed_context(connection)},
        )

    def post(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        choices = self._choices_or_error(request, connection)
        if choices is None:
            return redirect("integrations:detail", connection_id=connection.pk)
        if "auto_map" in request.POST:
            created = services.mappings_auto_map_accounts(
                connection=connection, accounts=choices.accounts
            )
            count = len(created)
            messages.success(
                request, f"{count} categor{'y' if count == 1 else 'ies'} mapped by account code."
            )
            return redirect("integrations:mappings", connection_id=connection.pk)
        form = self._form(request, connection, choices, data=request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def picked(kind):
                return {int(name.split("_")[1]): data[name] for name in form.sections[kind]}

            try:
                services.mappings_save(
                    connection=connection,
                    choices=choices,
                    accounts=picked("account"),
                    tracking=picked("tracking"),
                    contacts=picked("contact"),
                    payment_account_code=data["payment_account_code"],
                )
                services.connection_spend_accounts_update(
                    connection=connection,
                    codes={kind: data[f"spend_{kind}_account_code"] for kind in SPEND_KINDS},
                    choices=choices,
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                messages.success(request, "Mappings saved.")
                return redirect("integrations:mappings", connection_id=connection.pk)
        return render(
            request, self.template_name, {"connection": connection, "form": form}, status=400
        )
