"""Connect a ledger: the Integrations list and its form, the OAuth callback, and the choice of
the ledger organisation when a consent reaches several."""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations import selectors, services
from integrations.connectors.errors import ConnectorError
from integrations.forms import (
    ConnectForm,
    TenantChoiceForm,
)
from integrations.views.base import (
    SESSION_CONSENT_KEY,
    SESSION_OAUTH_KEY,
    IntegrationsView,
    ledger_error_text,
    start_oauth,
)


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
                return start_oauth(
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
