"""Bulk re-sync from the documents list: confirm what a selection will push, start it, follow it.

A selection is either the ids ticked on the page or "every document matching this filter": then
the list's query string is posted, and re-applied here with the list's own FilterSet; or a
Requires-attention group's documents ("Push ours again…" on entries changed in the ledger),
pushed to the group's connection alone; or the documents not in a connection's ledger yet (the
connection page's "Preview them"), pushed to that connection alone.
"""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from integrations.models import Connection, ConnectionStatus
from synclog import services
from synclog.forms import BulkSelectionForm
from synclog.selectors import bulk as selectors
from synclog.selectors.attention import attention_group_document_ids
from synclog.selectors.document_state import connection_unpushed_documents
from synclog.selectors.preview import bulk_resync_preview
from synclog.views.document_tab import preview_rows

SESSION_SKIPPED_KEY = "bulk_resync_skipped"


def _selection_summary(request, form: BulkSelectionForm):
    """The summary of a valid form's selection, or None with the reason added to the form."""
    data = form.cleaned_data
    connection = None
    if form.group is not None:
        # "Push ours again…" on a Requires-attention group: its documents as they are now, to
        # its connection alone. Another organisation's connection is a 404.
        connection_id, code, digest = form.group
        connection = get_object_or_404(Connection.objects.for_org(request.org), pk=connection_id)
        document_ids = attention_group_document_ids(
            org=request.org, connection=connection, code=code, digest=digest
        )
        if not document_ids:
            form.add_error(None, "Nothing is left in this group: its entries were fixed.")
            return None
        documents = selectors.bulk_selection_documents(org=request.org, document_ids=document_ids)
    elif form.unpushed_connection_id is not None:
        # The connection page's "Preview them": what that page counts, as it is now, to that
        # connection alone (the Not pushed filter is every connection's). Another
        # organisation's connection is a 404.
        connection = get_object_or_404(
            Connection.objects.for_org(request.org), pk=form.unpushed_connection_id
        )
        if connection.status != ConnectionStatus.ACTIVE:
            form.add_error(
                None,
                f"{connection.name} is {connection.get_status_display().lower()}: reconnect or "
                "enable it before pushing.",
            )
            return None
        documents = connection_unpushed_documents(connection=connection)
    else:
        try:
            documents = selectors.bulk_selection_documents(
                org=request.org,
                document_ids=data["document_ids"],
                filter_query=data["filter_query"] if data["select_all_matching"] else None,
            )
        except selectors.SelectionError as error:
            form.add_error(None, str(error))
            return None
    summary = selectors.bulk_selection_summary(
        documents=documents, org=request.org, connection=connection
    )
    if connection is not None and not summary.connections:
        form.add_error(
            None,
            f"{connection.name} is {connection.get_status_display().lower()}: reconnect or "
            "enable it before pushing again.",
        )
    elif not summary.connections:
        form.add_error(None, "No ledger is connected: an admin connects one in Integrations first.")
    elif summary.total == 0 and form.unpushed_connection_id is not None:
        form.add_error(
            None,
            f"Nothing is left to push to {connection.name}: the documents were pushed since "
            "(any that failed are in Requires attention).",
        )
    elif summary.total == 0 and data["select_all_matching"]:
        # A filter that matches nothing now (the list's Not pushed, once pushed).
        form.add_error(None, "No document matches this selection now: nothing is left to push.")
    elif summary.total == 0:
        form.add_error(None, "None of the selected documents exists any more.")
    elif not summary.syncable_ids:
        form.add_error(
            None,
            "None of the selected documents can be synced: drafts and documents awaiting "
            "approval never sync.",
        )
    return summary if not form.errors else None


class BulkView(OrgPermissionRequiredMixin, View):
    permission = Perm.RESYNC


class BulkConfirmView(BulkView):
    """What a re-sync of the selection will do: the dialog's content (htmx) or a page (no JS).

    A POST because a selection can hold many ids; it changes nothing.
    """

    def post(self, request):
        form = BulkSelectionForm(request.POST)
        summary = _selection_summary(request, form) if form.is_valid() else None
        context = {"form": form, "summary": summary}
        if request.htmx:
            # The dialog shows the reason too, so htmx must swap it in (it skips 4xx answers).
            return render(request, "synclog/bulk/_confirm.html", context)
        return render(request, "synclog/bulk/confirm.html", context, status=200 if summary else 400)


class BulkPreviewView(BulkView):
    """What the confirmed re-sync will change, entry by entry, for the first documents of the
    selection (htmx loads it into the confirmation, so the dialog opens at once). A POST like
    the confirmation; it reads the ledger and changes nothing."""

    def post(self, request):
        form = BulkSelectionForm(request.POST)
        summary = _selection_summary(request, form) if form.is_valid() else None
        context = {"form": form, "summary": summary, "bulk": True}
        if summary is not None:
            previews = bulk_resync_preview(
                org=request.org,
                document_ids=summary.syncable_ids,
                connection=summary.target_connection,
            )
            context["previews"] = preview_rows(previews)
        status = 200 if summary is not None or request.htmx else 400
        return render(request, "synclog/bulk/_preview.html", context, status=status)


class BulkResyncView(BulkView):
    def post(self, request):
        form = BulkSelectionForm(request.POST)
        summary = _selection_summary(request, form) if form.is_valid() else None
        if summary is None:
            context = {"form": form, "summary": None}
            return render(request, "synclog/bulk/confirm.html", context, status=400)
        runs = services.bulk_resync(
            org=request.org,
            document_ids=summary.syncable_ids,
            actor=request.user,
            connection=summary.target_connection,
        )
        if not runs:
            messages.error(request, "No ledger is connected: nothing was re-synced.")
            return redirect("documents:list")
        skipped = request.session.get(SESSION_SKIPPED_KEY, {})
        # Kept for the progress page's summary; the runs themselves only know what they push.
        skipped = dict(list(skipped.items())[-20:])
        skipped[str(runs[0].public_id)] = {"drafts": summary.drafts}
        request.session[SESSION_SKIPPED_KEY] = skipped
        count = len(summary.syncable_ids)
        messages.success(
            request, f"Re-sync of {count} document{'s' if count != 1 else ''} started."
        )
        return redirect(bulk_progress_url(runs))


def bulk_progress_url(runs) -> str:
    """The progress page of one run, or of several (one per connection) in one page."""
    url = reverse("synclog:bulk-progress", args=[runs[0].public_id])
    others = [("run", str(run.public_id)) for run in runs[1:]]
    return f"{url}?{urlencode(others)}" if others else url


class BulkProgressView(BulkView):
    """Progress until every run has finished, then the summary; htmx polls the fragment."""

    def get(self, request, public_id):
        try:
            others = [uuid.UUID(value) for value in request.GET.getlist("run")]
        except ValueError:
            raise Http404("No such sync.") from None
        progress = selectors.bulk_progress(org=request.org, public_ids=[public_id, *others])
        skipped = request.session.get(SESSION_SKIPPED_KEY, {}).get(str(public_id))
        context = {"progress": progress, "skipped": skipped}
        template = "synclog/bulk/_progress.html" if request.htmx else "synclog/bulk/progress.html"
        return render(request, template, context)
