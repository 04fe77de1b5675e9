"""Sync Health: totals by status code, the sync history, one sync with its push items (and Retry
failed items), and a connection's configuration as a page and as a JSON download."""

import datetime
import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from integrations.selectors import connection_get
from synclog import services
from synclog.forms import ItemFilterForm, RunFilterForm
from synclog.models import RunItemOutcome, StatusCode
from synclog.selectors import health as selectors
from synclog.selectors.eta import connection_quota_meter, run_eta
from synclog.selectors.marks import records_marked_complete_by_hand

RUNS_PER_PAGE = 25
ITEMS_PER_PAGE = 50
DEFAULT_PERIOD_DAYS = 7
# How often an open run page asks for news while the run is in progress.
POLL_SECONDS = 2


class HealthView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_SYNC_HEALTH


def _duration_text(duration: datetime.timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _decorate(run) -> None:
    """What the templates show of a run: its code as shown (1010 once long), and durations."""
    code = run.display_status_code
    run.shown_code = code
    run.shown_label = StatusCode(code).label
    run.code_family = selectors.code_family(code)
    run.duration_text = _duration_text(run.duration)
    if run.finished_at is None:
        run.running_for = _duration_text(timezone.now() - run.started_at)


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _rate_limits_text(settings: dict, connection=None) -> str:
    """The connection's own rate limits in words; else, for a connection, the limits its ledger
    publishes (what its connector declares, which the engine plans by)."""
    limits = settings.get("rate_limits") or {}
    if not isinstance(limits, dict):
        return ""
    if not limits and connection is not None:
        quota = services.connection_quota(connection=connection)
        per_second = f"{_number(quota.per_second)} a second, " if quota.per_second else ""
        return (
            f"{_number(quota.per_window)} calls per {_number(int(quota.window_seconds))} s, "
            f"{per_second}{_number(quota.max_concurrent)} at once, "
            f"{_number(quota.per_day)} a day ({connection.get_provider_display()}'s published "
            "limits)"
        )
    parts = []
    if "per_window" in limits:
        window = limits.get("window_seconds", 60)
        parts.append(f"{_number(limits['per_window'])} calls per {_number(window)} s")
    if limits.get("per_second"):
        parts.append(f"{_number(limits['per_second'])} a second")
    if "max_concurrent" in limits:
        parts.append(f"{_number(limits['max_concurrent'])} at once")
    if "per_day" in limits:
        parts.append(f"{_number(limits['per_day'])} a day")
    return ", ".join(parts)


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


class DashboardView(HealthView):
    def get(self, request):
        today = timezone.localdate()
        data = request.GET.copy()
        # First visit: the last seven days, today included. A cleared field means no bound.
        if "date_from" not in data and "date_to" not in data:
            start = today - datetime.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
            data["date_from"] = start.isoformat()
            data["date_to"] = today.isoformat()
        form = RunFilterForm(data)
        form.is_valid()
        filters = form.filters()
        # A whole sync id goes straight to that sync, whatever the period.
        exact = selectors.sync_run_find(org=request.org, public_id=filters.query)
        if exact is not None:
            return redirect("synclog:health-run", public_id=exact.public_id)
        sort = request.GET.get("sort", "")
        if sort not in selectors.RUN_SORTS:
            sort = selectors.DEFAULT_RUN_SORT
        totals = selectors.sync_run_totals(org=request.org, filters=filters)
        runs = selectors.sync_run_list(org=request.org, filters=filters, sort=sort)
        page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
        for run in page:
            _decorate(run)
        form_query = {
            name: form.data.get(name, "") for name in ("q", "date_from", "date_to", "status_code")
        }
        return render(
            request,
            "synclog/health/dashboard.html",
            {
                "form": form,
                "totals": totals,
                "total_runs": sum(total.count for total in totals),
                "chart_data": {
                    "codes": [t.code for t in totals],
                    "labels": [t.label for t in totals],
                    "counts": [t.count for t in totals],
                    "families": [t.family for t in totals],
                },
                "page": page,
                "sort": sort,
                "filter_query": _encode(form_query),
                "page_query": _encode({**form_query, "sort": sort}),
                "all_codes_query": _encode({**form_query, "status_code": "", "sort": sort}),
            },
        )


def _encode(values: dict) -> str:
    query = QueryDict(mutable=True)
    for name, value in values.items():
        if value not in ("", None):
            query[name] = value
    return query.urlencode()


class RunDetailView(HealthView):
    def get(self, request, public_id):
        run = selectors.sync_run_get(org=request.org, public_id=public_id)
        _decorate(run)
        form = ItemFilterForm(request.GET)
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        items = selectors.sync_run_items(
            run=run, query=data.get("q") or "", outcome=data.get("outcome") or ""
        )
        page = selectors.sync_run_items_page(
            items=items, number=request.GET.get("page"), per_page=ITEMS_PER_PAGE
        )
        attempts = selectors.sync_run_item_attempts(
            run=run, record_ids=[item.record_id for item in page]
        )
        # An item fixed since by a mark Complete by hand says so, not that it reached the ledger.
        marks = records_marked_complete_by_hand(
            records=[item.record for item in page if item.outcome == RunItemOutcome.RESOLVED]
        )
        labels = dict(StatusCode.choices)
        for item in page:
            item.last_attempt = attempts.get(item.record_id)
            item.hand_mark = marks.get(item.record_id)
            item.code_label = labels.get(item.status_code, "")
            item.code_family = selectors.code_family(item.status_code)
        # The quota meter counts the connection's queue: once a request, for the page and the
        # ETA both; the live part of a finished run (no ETA) needs none.
        live_only = request.htmx and request.htmx.target == "run-live"
        meter = (
            connection_quota_meter(connection=run.connection)
            if not live_only or run.finished_at is None
            else None
        )
        context = {
            "run": run,
            "form": form,
            "page": page,
            "query": _query_without(request, "page"),
            "error_groups": selectors.sync_run_error_summary(run=run),
            "retryable": selectors.sync_run_retryable_count(run=run),
            "retries": list(selectors.sync_run_retries(run=run)),
            "poll_seconds": POLL_SECONDS,
            "eta": run_eta(run=run, meter=meter),
        }
        # The in-progress poll swaps only the live part of the page.
        if live_only:
            return render(request, "synclog/health/_run_live.html", context)
        config = selectors.connection_config(connection=run.connection)
        context.update(
            config=config,
            rate_limits_text=_rate_limits_text(config["settings"], run.connection),
            meter=meter,
        )
        return render(request, "synclog/health/run_detail.html", context)


class RunRetryView(OrgPermissionRequiredMixin, View):
    """Retry failed items: a new run of this run's failed items."""

    permission = Perm.RETRY_FAILED

    def post(self, request, public_id):
        run = selectors.sync_run_get(org=request.org, public_id=public_id)
        try:
            retry = services.retry_failed(run=run, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("synclog:health-run", public_id=run.public_id)
        messages.success(
            request,
            f"Retrying {retry.total} failed item{'s' if retry.total != 1 else ''} "
            f"of sync {str(run.public_id)[:8]}.",
        )
        return redirect("synclog:health-run", public_id=retry.public_id)


class ConnectionConfigView(HealthView):
    def get(self, request, connection_id):
        connection = connection_get(org=request.org, connection_id=connection_id)
        config = selectors.connection_config(connection=connection)
        return render(
            request,
            "synclog/health/connection_config.html",
            {
                "connection": connection,
                "config": config,
                "rate_limits_text": _rate_limits_text(config["settings"], connection),
                "meter": connection_quota_meter(connection=connection),
                "on_config_page": True,
            },
        )


class ConnectionConfigDownloadView(HealthView):
    def get(self, request, connection_id):
        connection = connection_get(org=request.org, connection_id=connection_id)
        config = selectors.connection_config(connection=connection)
        body = json.dumps(config, indent=2, cls=DjangoJSONEncoder)
        filename = f"{slugify(connection.name) or 'connection'}-{connection.pk}-config.json"
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ConnectionRecentRunsView(HealthView):
    """The last runs of one connection: a fragment the connection page loads."""

    def get(self, request, connection_id):
        connection = connection_get(org=request.org, connection_id=connection_id)
        recent_runs = selectors.connection_recent_runs(connection=connection)
        for run in recent_runs:
            _decorate(run)
        return render(
            request,
            "synclog/health/_connection_runs.html",
            {"connection": connection, "recent_runs": recent_runs},
        )
