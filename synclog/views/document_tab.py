"""Document › Integrations: the document's log on each connection, and the Re-sync dialog."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from documents.selectors import document_get
from integrations.selectors import connection_get
from integrations.views.base import ledger_error_text
from synclog import services
from synclog.forms import ResyncForm
from synclog.selectors import attempts as selectors
from synclog.selectors.preview import document_resync_preview

LOG_PAGE_SIZE = 25
# How often the log refreshes itself while an entry of the document is Pending.
POLL_SECONDS = 2


def tab_url(document, connection=None) -> str:
    url = reverse("synclog:document-integrations", args=[document.pk])
    return f"{url}?connection={connection.pk}" if connection else url


def log_context(request, document, connection) -> dict:
    """What the self-refreshing part of the tab shows: the entries' state and the log."""
    records = selectors.document_sync_records(document=document, connection=connection)
    page = Paginator(
        selectors.document_attempts(document=document, connection=connection), LOG_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    page.object_list = selectors.attempts_with_display_calls(page.object_list)
    pending = selectors.records_pending(records)
    log_url = reverse("synclog:document-integration-log", args=[document.pk, connection.pk])
    return {
        "document": document,
        "connection": connection,
        "records": records,
        "chain": selectors.document_chain_state(records=records, connection=connection),
        "page": page,
        "pending": pending,
        "poll_url": f"{log_url}?page={page.number}" if pending else "",
        "poll_seconds": POLL_SECONDS,
        "availability": selectors.document_sync_availability(
            document=document, connection=connection
        ),
    }


def render_tab(request, document, connection_id=None, resync_form=None, status=200):
    connections = selectors.connection_list_for_tab(org=request.org)
    context = {"document": document, "connections": connections, "active_tab": "integrations"}
    if connections:
        connection = selectors.connection_choose(
            connections=connections, connection_id=connection_id
        )
        context.update(log_context(request, document, connection))
        context["resync_form"] = resync_form or ResyncForm(
            document=document, entry=request.GET.get("entry")
        )
        # A link from Requires attention opens the fix's dialog at once ("Push as a new entry…",
        # "Push ours again…"); the log's refreshes do not carry it, so it opens once.
        context["open_dialog"] = request.GET.get("open") if resync_form is None else None
    return render(request, "synclog/document/integrations.html", context, status=status)


class DocumentIntegrationsView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_DOCUMENTS

    def get(self, request, document_id):
        document = document_get(org=request.org, document_id=document_id)
        return render_tab(request, document, connection_id=request.GET.get("connection"))


class DocumentIntegrationLogView(OrgPermissionRequiredMixin, View):
    """The tab's self-refreshing part (htmx polls it while an entry is Pending)."""

    permission = Perm.VIEW_DOCUMENTS

    def get(self, request, document_id, connection_id):
        document = document_get(org=request.org, document_id=document_id)
        connection = connection_get(org=request.org, connection_id=connection_id)
        return render(
            request,
            "synclog/document/_integration_log.html",
            log_context(request, document, connection),
        )


class DocumentResyncView(OrgPermissionRequiredMixin, View):
    permission = Perm.RESYNC

    def post(self, request, document_id, connection_id):
        document = document_get(org=request.org, document_id=document_id)
        connection = connection_get(org=request.org, connection_id=connection_id)
        form = ResyncForm(request.POST, document=document)
        if form.is_valid():
            entry = form.cleaned_data["entry"]
            try:
                run = services.resync(
                    document=document, connection=connection, entry=entry, actor=request.user
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                label = dict(form.fields["entry"].choices)[entry].lower()
                if run.total:
                    messages.success(
                        request,
                        f"Re-sync of the {label} of {document} to {connection.name} requested; "
                        "the log below updates when it is done.",
                    )
                else:
                    messages.info(request, f"Nothing to re-sync: {document} has no {label}.")
                return redirect(tab_url(document, connection))
        return render_tab(
            request, document, connection_id=connection.pk, resync_form=form, status=400
        )


def preview_rows(previews) -> list[tuple]:
    """(preview, what the page says of its ledger error) for the preview template."""
    return [
        (preview, ledger_error_text(preview.ledger_error) if preview.ledger_error else "")
        for preview in previews
    ]


class DocumentResyncPreviewView(OrgPermissionRequiredMixin, View):
    """What the Re-sync dialog's push of the chosen entry will change (htmx loads it into the
    dialog when it opens and when the entry changes): a read of the ledger, nothing sent."""

    permission = Perm.RESYNC

    def get(self, request, document_id, connection_id):
        document = document_get(org=request.org, document_id=document_id)
        connection = connection_get(org=request.org, connection_id=connection_id)
        form = ResyncForm(request.GET, document=document)
        availability = selectors.document_sync_availability(
            document=document, connection=connection
        )
        context = {"document": document, "connection": connection, "form": form}
        if not availability.can_sync:
            context["refusal"] = availability.reason
        elif form.is_valid():
            preview = document_resync_preview(
                document=document, connection=connection, entry=form.cleaned_data["entry"]
            )
            context["previews"] = preview_rows([preview])
        # htmx swaps only 2xx answers: the dialog says why there is nothing to show.
        status = 200 if request.htmx or "previews" in context else 400
        return render(request, "synclog/document/_resync_preview.html", context, status=status)


class DocumentPushNewView(OrgPermissionRequiredMixin, View):
    """The confirmed way out of an entry voided or deleted in the ledger."""

    permission = Perm.RESYNC

    def post(self, request, document_id, connection_id):
        document = document_get(org=request.org, document_id=document_id)
        connection = connection_get(org=request.org, connection_id=connection_id)
        try:
            services.resync_as_new_entry(
                document=document, connection=connection, actor=request.user
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                f"{document} is being pushed to {connection.name} as a new entry; the log below "
                "updates when it is done.",
            )
        return redirect(tab_url(document, connection))


class DocumentAcceptLedgerView(OrgPermissionRequiredMixin, View):
    """ "Accept the ledger's" on a record that drifted there: marked Complete, audited."""

    permission = Perm.UPDATE_SYNC_STATUS

    def post(self, request, document_id, connection_id, record_id):
        document = document_get(org=request.org, document_id=document_id)
        connection = connection_get(org=request.org, connection_id=connection_id)
        if not document.sync_records.filter(pk=record_id, connection=connection).exists():
            raise Http404("No such sync record.")
        try:
            record = services.sync_record_accept_ledger(
                org=request.org, record_id=record_id, actor=request.user
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            # A payment has no number in the ledger: named by its amount and date.
            accepted = (
                f"the payment of {record.payment.amount} {document.currency} on "
                f"{record.payment.paid_at:%Y-%m-%d}"
                if record.is_payment
                else "the entry"
            )
            messages.success(
                request,
                f"{connection.get_provider_display()}'s version is accepted: {accepted} is "
                "marked Complete (Sync History keeps who did it, and what differed).",
            )
        if request.POST.get("back") == "attention":  # a row of Requires attention
            return redirect("synclog:attention")
        return redirect(tab_url(document, connection))
