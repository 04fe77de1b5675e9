"""Accounting Sync History: records by tab and filter, Update Sync Status, Export to Excel."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm, membership_has_perm
from synclog import export, services
from synclog.filters import HISTORY_TABS, STATUS_CHOICES, SyncHistoryFilter
from synclog.forms import SyncStatusUpdateForm
from synclog.models import RecordStatus
from synclog.selectors import history as selectors
from syncsvc.display import grouped, minute, url_pattern
from syncsvc.paging import PageRequest

PAGE_SIZE = 50
RESULTS_TARGET = "history-results"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def history_url(params: dict, **changes) -> str:
    query = urlencode({**params, **changes})
    return reverse("synclog:history") + (f"?{query}" if query else "")


def _with_row_values(records: list) -> list:
    """What each row writes, computed here once rather than by the template's url tag, intcomma
    and date filters (most of the page's CPU: figure 3, issue 13)."""
    detail_url = url_pattern("documents:detail")
    for record in records:
        record.detail_url = detail_url.format(record.document_id)
        record.amount_text = grouped(record.amount)
        record.sync_date_text = minute(record.sync_date) if record.sync_date else ""
        if record.synced_amount is not None:
            record.synced_amount_text = grouped(record.synced_amount)
        if record.status_changed_at:
            record.status_changed_text = minute(record.status_changed_at)
    return records


def _labels(filterset: SyncHistoryFilter) -> tuple[str, str]:
    return dict(HISTORY_TABS)[filterset.active_tab], dict(STATUS_CHOICES).get(
        filterset.form.data.get("status"), ""
    )


class SyncHistoryView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_SYNC_HISTORY

    def get(self, request):
        filterset = selectors.sync_history_filterset(org=request.org, filters=request.GET)
        page = selectors.sync_history_page(
            org=request.org,
            filterset=filterset,
            asked=PageRequest.from_query(request.GET),
            per_page=PAGE_SIZE,
        )
        _with_row_values(page.object_list)
        params = filterset.query_params()
        tab_label, status_label = _labels(filterset)
        context = {
            "filter": filterset,
            "page": page,
            "filter_params": params,
            "query": urlencode(params),
            "tabs": [
                {
                    "value": value,
                    "label": label,
                    "url": history_url(params, tab=value),
                    "active": value == filterset.active_tab,
                }
                for value, label in HISTORY_TABS
            ],
            "tab_label": tab_label,
            "status_label": status_label,
            "can_export": bool(request.membership.can_export),
            "can_update": membership_has_perm(request.membership, Perm.UPDATE_SYNC_STATUS),
            "export_url": reverse("synclog:history-export") + f"?{urlencode(params)}",
            "update_form": SyncStatusUpdateForm(),
        }
        # A filter change from the page swaps the results (and, out of band, the tabs and the
        # export link, which carry the filter).
        if request.htmx and request.htmx.target == RESULTS_TARGET:
            return render(request, "synclog/history/_results.html", {**context, "oob": True})
        return render(request, "synclog/history/page.html", context)


class SyncStatusUpdateView(OrgPermissionRequiredMixin, View):
    """Update Sync Status for the checked records, or for every record of the filter."""

    permission = Perm.UPDATE_SYNC_STATUS

    def post(self, request):
        filterset = selectors.sync_history_filterset(org=request.org, filters=request.POST)
        back = redirect(history_url(filterset.query_params()))
        form = SyncStatusUpdateForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return back
        if form.cleaned_data["scope"] == "matching":
            if not filterset.is_valid():
                messages.error(request, "Fix the filters first: nothing was changed.")
                return back
            record_ids = selectors.sync_history_matching_ids(filterset=filterset)
            if not record_ids:
                messages.info(request, "No record matches these filters: nothing was changed.")
                return back
        else:
            record_ids = selectors.sync_history_record_ids(
                org=request.org, record_ids=form.cleaned_data["record_ids"]
            )
            if not record_ids:
                # Only other organisations' (or deleted) records: the same answer as missing.
                raise Http404("No such sync records.")
        to_status = form.to_record_status
        try:
            changed = services.sync_status_update(
                org=request.org,
                record_ids=record_ids,
                to_status=to_status,
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            messages.error(request, self._refusal(request, error, record_ids, to_status))
            return back
        plural = "s" if changed != 1 else ""
        if to_status == RecordStatus.COMPLETE:
            messages.success(request, f"{changed} record{plural} marked Complete.")
        else:
            messages.success(
                request,
                f"{changed} record{plural} set to Pending: ledgersync pushes "
                f"{'them' if plural else 'it'} again now.",
            )
        return back

    @staticmethod
    def _refusal(request, error: ValidationError, record_ids, to_status) -> str:
        reason = " ".join(error.messages)
        if to_status != RecordStatus.COMPLETE:
            return f"Nothing was changed: {reason}"
        not_failed = selectors.sync_history_count_not_failed(org=request.org, record_ids=record_ids)
        return (
            f"Nothing was changed: {not_failed} of the {len(record_ids)} selected records "
            f"{'is' if not_failed == 1 else 'are'} not Failed. {reason} "
            "Set them to Pending instead to push them again."
        )


class SyncHistoryExportView(OrgPermissionRequiredMixin, View):
    """Every record of the active tab and filter (not only the page) as an Excel workbook."""

    permission = Perm.VIEW_SYNC_HISTORY

    def get(self, request):
        if not request.membership.can_export:
            raise PermissionDenied("Exporting needs the export right: ask an admin.")
        filterset = selectors.sync_history_filterset(org=request.org, filters=request.GET)
        if not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            return redirect(history_url(filterset.query_params()))
        tab_label, status_label = _labels(filterset)
        handle = export.sync_history_workbook_file(
            rows=selectors.sync_history_export_rows(filterset=filterset),
            sheet_title=f"{tab_label} - {status_label}",
        )
        filename = (
            f"sync-history-{filterset.active_tab}-{filterset.form.data['status']}-"
            f"{timezone.localdate().isoformat()}.xlsx"
        ).replace("_", "-")
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX)
