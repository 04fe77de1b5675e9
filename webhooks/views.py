"""Webhooks settings for admins: endpoints, their secret, their deliveries and redelivery.

Thin: parse input, check the role (MANAGE_INTEGRATIONS), call a selector or a service.
"""

import json
import math

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils.cache import patch_cache_control
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from webhooks import selectors, services
from webhooks.forms import EndpointForm, add_service_errors
from webhooks.models import DeliveryStatus
from webhooks.services import DISABLE_AFTER, RETRY_SCHEDULE_SECONDS

ENDPOINTS_PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 50
ATTEMPTS_PAGE_SIZE = 50
# How often a delivery page waiting for a redelivery's answer asks for it again.
POLL_SECONDS = 2


class WebhooksView(OrgPermissionRequiredMixin, View):
    permission = Perm.MANAGE_INTEGRATIONS


def _schedule_text() -> str:
    """The retry delays after the first attempt, e.g. "5 s, 5 min, … and 10 h"."""

    def human(seconds: int) -> str:
        if seconds < 60:
            return f"{seconds} s"
        if seconds < 3600:
            return f"{seconds // 60} min"
        return f"{seconds // 3600} h"

    delays = [human(seconds) for seconds in RETRY_SCHEDULE_SECONDS[1:]]
    return f"{', '.join(delays[:-1])} and {delays[-1]}"


def _sweep_minutes() -> int:
    """The longest, in minutes, a redelivery left to the sweep waits once the queue is back."""
    return math.ceil(services.redelivery_sweep_within().total_seconds() / 60)


def _render_secret(request, endpoint, secret, *, created: bool):
    response = render(
        request,
        "webhooks/endpoint_secret.html",
        {"endpoint": endpoint, "secret": secret, "created": created},
    )
    # Shown once: no cache may keep a copy of the page.
    patch_cache_control(response, no_store=True, no_cache=True, private=True)
    return response


class EndpointListView(WebhooksView):
    def get(self, request):
        page = Paginator(selectors.webhook_endpoint_list(org=request.org), ENDPOINTS_PAGE_SIZE)
        return render(
            request,
            "webhooks/endpoint_list.html",
            {
                "page": page.get_page(request.GET.get("page")),
                "needing_attention": list(
                    selectors.webhook_endpoints_needing_attention(org=request.org)
                ),
                "disable_after_days": DISABLE_AFTER.days,
                "schedule": _schedule_text(),
                "attempts": len(RETRY_SCHEDULE_SECONDS),
                "deleted": selectors.webhook_endpoints_deleted(org=request.org),
            },
        )


class EndpointCreateView(WebhooksView):
    template_name = "webhooks/endpoint_form.html"

    def get(self, request):
        form = EndpointForm(initial={"events": ["sync.completed", "sync.failed"]})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    org=request.org,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                    actor=request.user,
                )
            except ValidationError as error:
                add_service_errors(error, form)
            else:
                # Rendered, not redirected to: the secret is never stored where it could be read
                # again.
                return _render_secret(request, endpoint, secret, created=True)
        return render(request, self.template_name, {"form": form}, status=400)


class EndpointDetailView(WebhooksView):
    """The endpoint, and its deliveries (filtered by status), newest first."""

    def get(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        status = request.GET.get("status", "")
        if status not in DeliveryStatus.values:
            status = ""
        deliveries = selectors.webhook_delivery_list(
            org=request.org, endpoint=endpoint, status=status or None
        )
        page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            "webhooks/endpoint_detail.html",
            {
                "endpoint": endpoint,
                "page": page,
                "status": status,
                "statuses": DeliveryStatus.choices,
                "counts": selectors.webhook_delivery_counts(endpoint=endpoint),
                "events": selectors.webhook_endpoint_event_list(endpoint=endpoint),
                "disable_after_days": DISABLE_AFTER.days,
                "banner": [endpoint],
            },
        )


class EndpointEditView(WebhooksView):
    template_name = "webhooks/endpoint_form.html"

    def get(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        form = EndpointForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "events": endpoint.events,
            }
        )
        return render(request, self.template_name, {"form": form, "endpoint": endpoint})

    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(
                    endpoint=endpoint,
                    actor=request.user,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as error:
                add_service_errors(error, form)
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("webhooks:detail", endpoint_id=endpoint.pk)
        # The page shows the endpoint as it is stored, not the rejected input.
        endpoint.refresh_from_db()
        return render(request, self.template_name, {"form": form, "endpoint": endpoint}, status=400)


class EndpointEnableView(WebhooksView):
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        services.webhook_endpoint_enable(endpoint=endpoint, actor=request.user)
        messages.success(
            request,
            "Endpoint enabled: new events are delivered to it. Redeliver the failed ones you "
            "still need.",
        )
        return redirect("webhooks:detail", endpoint_id=endpoint.pk)


class EndpointDisableView(WebhooksView):
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        services.webhook_endpoint_disable(endpoint=endpoint, actor=request.user)
        messages.success(request, "Endpoint disabled: nothing is sent to it until you enable it.")
        return redirect("webhooks:detail", endpoint_id=endpoint.pk)


class EndpointRotateSecretView(WebhooksView):
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        secret = services.webhook_endpoint_secret_rotate(endpoint=endpoint, actor=request.user)
        return _render_secret(request, endpoint, secret, created=False)


class EndpointDeleteView(WebhooksView):
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        url = endpoint.url
        services.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, f"Endpoint {url} deleted with its delivery log.")
        return redirect("webhooks:list")


class DeliveryDetailView(WebhooksView):
    """One delivery: the body as sent, and every attempt with the endpoint's answer. While a
    redelivery waits for its answer, htmx polls the page's live part (`delivery-live`)."""

    def get(self, request, endpoint_id, delivery_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(
            org=request.org, endpoint=endpoint, delivery_id=delivery_id
        )
        attempts = Paginator(
            selectors.webhook_delivery_attempt_list(delivery=delivery), ATTEMPTS_PAGE_SIZE
        ).get_page(request.GET.get("page"))
        context = {
            "endpoint": endpoint,
            "delivery": delivery,
            "attempts": attempts,
            "poll_seconds": POLL_SECONDS,
            "sweep_minutes": _sweep_minutes(),
        }
        if request.htmx and request.htmx.target == "delivery-live":
            return render(request, "webhooks/_delivery_live.html", context)
        context["body"] = json.dumps(
            json.loads(services.webhook_message_body(delivery.message)),
            indent=2,
            ensure_ascii=False,
        )
        return render(request, "webhooks/delivery_detail.html", context)


class DeliveryRedeliverView(WebhooksView):
    def post(self, request, endpoint_id, delivery_id):
        endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(
            org=request.org, endpoint=endpoint, delivery_id=delivery_id
        )
        try:
            redelivery = services.webhook_delivery_redeliver(delivery=delivery, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if redelivery.left_to_sweep:
                minutes = _sweep_minutes()
                messages.warning(
                    request,
                    "The task queue is unavailable right now, so the redelivery is saved for "
                    f"the periodic sweep: it goes out within {minutes} minute{pluralize(minutes)} "
                    "of the queue answering again, and the attempt then appears below.",
                )
            else:
                messages.success(
                    request, "Redelivery started: the attempt appears below within a few seconds."
                )
        return redirect("webhooks:delivery", endpoint_id=endpoint.pk, delivery_id=delivery.pk)
