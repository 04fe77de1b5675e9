"""One connection's page and its actions: test, force sync, disable, enable, disconnect,
reconnect, the locked-period policy and "Check the ledger now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations import selectors, services
from integrations.connectors.errors import ConnectorError
from integrations.forms import LockedPeriodPolicyForm
from integrations.models import ConnectionStatus
from integrations.views.base import (
    IntegrationsView,
    ledger_error_text,
    start_oauth,
    unpushed_context,
)
from synclog import services as sync_services
from synclog.selectors.locks import connection_held_count, lock_date_words
from synclog.selectors.reconcile import connection_reconcile_state


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
            **unpushed_context(connection),
        },
        status=status,
    )


class ConnectionDetailView(IntegrationsView):
    def get(self, request, connection_id):
        connection = selectors.connection_get(org=request.org, connection_id=connection_id)
        return _render_detail(request, connection)


class LedgerCheckView(IntegrationsView):
    """ "Check the ledger now" (the reconcile at once, not at beat's next turn) and the
    reconcile's state: htmx swaps the section in after a click (with the Events table out of
    band), and polls it while a check is queued or running; without JS the POST comes back to
    the page with a message."""

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
            # The request is audited (or refused because someone else's is queued): the page's
            # Events table comes along out of band, so it shows who asked without a reload.
            return self._section(
                request,
                connection,
                notice=notice,
                level=messages.DEFAULT_TAGS[level],
                events=selectors.connection_event_list(connection=connection),
            )
        messages.add_message(request, level, notice)
        return redirect(_ledger_check_anchor(connection))

    def _section(self, request, connection, *, notice: str = "", level: str = "", events=None):
        return render(
            request,
            self.template_name,
            {
                "connection": connection,
                "reconcile": connection_reconcile_state(connection=connection),
                "notice": notice,
                "notice_level": level,
                "events": events,
                "oob": events is not None,
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
                return start_oauth(
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
