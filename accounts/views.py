"""Switching organisation, and the API keys page (admins): create a key (shown once) and revoke
keys."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import ApiKeyForm
from accounts.middleware import SESSION_ORG_KEY
from accounts.mixins import OrgPermissionRequiredMixin
from accounts.models import Membership
from accounts.permissions import Perm


@login_required
@require_POST
def organization_switch(request):
    membership = (
        Membership.objects.filter(user=request.user, org_id=request.POST.get("org_id"))
        .select_related("org")
        .first()
    )
    if membership is None:
        messages.error(request, "You are not a member of that organisation.")
    else:
        request.session[SESSION_ORG_KEY] = membership.org_id
        messages.success(request, f"You are now working in {membership.org.name}.")
    # Always land on the list: the page the user came from belongs to the other organisation.
    return redirect("documents:list")


API_KEYS_TEMPLATE = "accounts/api_keys.html"


class ApiKeysView(OrgPermissionRequiredMixin, View):
    permission = Perm.MANAGE_INTEGRATIONS

    def _render(self, request, *, form, created=None, status=200):
        context = {
            "api_keys": selectors.api_key_list(org=request.org),
            "form": form,
            "created": created,
        }
        response = render(request, API_KEYS_TEMPLATE, context, status=status)
        if created is not None:
            # The key is on this page only: no cache may keep a copy.
            response["Cache-Control"] = "no-store"
        return response

    def get(self, request):
        return self._render(request, form=ApiKeyForm())

    def post(self, request):
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        try:
            created = services.api_key_create(
                org=request.org, name=form.cleaned_data["name"], actor=request.user
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
            return self._render(request, form=form, status=400)
        # Rendered, not redirected: the key must not travel through the session or a URL.
        return self._render(request, form=ApiKeyForm(), created=created)


class ApiKeyRevokeView(OrgPermissionRequiredMixin, View):
    permission = Perm.MANAGE_INTEGRATIONS

    def post(self, request, api_key_id: int):
        api_key = selectors.api_key_get(org=request.org, api_key_id=api_key_id)
        services.api_key_revoke(api_key=api_key, actor=request.user)
        messages.success(request, f"{api_key.name} revoked: calls with it now answer 401.")
        return redirect("api_keys:list")
