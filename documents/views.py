"""Pages for the AP clerk. Thin: parse input, check the role, call a selector or a service."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from documents import selectors, services
from documents.forms import (
    AttachmentForm,
    DocumentForm,
    LineFormSet,
    PaymentForm,
    add_service_errors,
)
from synclog.selectors.attempts import document_booked_entries
from synclog.selectors.attention import attention_document_count
from synclog.services import attention_fold
from syncsvc.paging import PageRequest

PAGE_SIZE = 25


class DocumentListView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_DOCUMENTS

    def get(self, request):
        # The Requires-attention tab is its own page (failures grouped by cause).
        if request.GET.get("tab") == "attention":
            return redirect("synclog:attention")
        filterset = selectors.document_filterset(org=request.org, filters=request.GET)
        page = selectors.document_page(
            filterset=filterset, asked=PageRequest.from_query(request.GET), per_page=PAGE_SIZE
        )
        query = request.GET.copy()
        for name in (*PageRequest.QUERY_NAMES, "tab"):
            query.pop(name, None)
        # `query` is also what "select all N matching this filter" posts for a bulk re-sync.
        context = {"filter": filterset, "page": page, "query": query.urlencode()}
        # A filter change from the page swaps only the results.
        if request.htmx and request.htmx.target == "document-results":
            return render(request, "documents/_document_table.html", context)
        attention_fold(org_id=request.org.pk)
        context["attention_count"] = attention_document_count(org=request.org)
        context["active_tab"] = "all"
        return render(request, "documents/document_list.html", context)


class DocumentFormMixin:
    template_name = "documents/document_form.html"

    def render_form(self, request, form, formset, line_errors=(), document=None, status=200):
        context = {
            "form": form,
            "formset": formset,
            "line_errors": line_errors,
            "document": document,
            # Synced entries the ledger holds as paid: it refuses changes, so say so first.
            "booked_entries": document_booked_entries(document=document) if document else [],
        }
        return render(request, self.template_name, context, status=status)


class DocumentCreateView(OrgPermissionRequiredMixin, DocumentFormMixin, View):
    permission = Perm.EDIT_DOCUMENTS

    def get(self, request):
        form = DocumentForm(org=request.org, initial={"currency": request.org.currency})
        return self.render_form(request, form, LineFormSet(form_kwargs={"org": request.org}))

    def post(self, request):
        form = DocumentForm(request.POST, org=request.org)
        formset = LineFormSet(request.POST, form_kwargs={"org": request.org})
        if form.is_valid() and formset.is_valid():
            try:
                document = services.document_create(
                    org=request.org,
                    actor=request.user,
                    lines=formset.cleaned_lines(),
                    **form.cleaned_data,
                )
            except ValidationError as error:
                line_errors = add_service_errors(error, form, formset)
                return self.render_form(request, form, formset, line_errors, status=400)
            messages.success(request, f"{document} created.")
            return redirect("documents:detail", document_id=document.pk)
        return self.render_form(request, form, formset, status=400)


class DocumentEditView(OrgPermissionRequiredMixin, DocumentFormMixin, View):
    permission = Perm.EDIT_DOCUMENTS

    def get(self, request, document_id):
        document = selectors.document_get_detail(org=request.org, document_id=document_id)
        form = DocumentForm(
            org=request.org,
            editing=True,
            initial={name: getattr(document, name) for name in services.EDITABLE_FIELDS},
        )
        formset = LineFormSet(
            form_kwargs={"org": request.org},
            initial=[
                {name: getattr(line, name) for name in services.EDITABLE_LINE_FIELDS}
                for line in document.line_list
            ],
        )
        return self.render_form(request, form, formset, document=document)

    def post(self, request, document_id):
        document = selectors.document_get_detail(org=request.org, document_id=document_id)
        form = DocumentForm(request.POST, org=request.org, editing=True)
        formset = LineFormSet(request.POST, form_kwargs={"org": request.org})
        if form.is_valid() and formset.is_valid():
            try:
                result = services.document_update(
                    document=document,
                    actor=request.user,
                    data=form.cleaned_data,
                    lines=formset.cleaned_lines(),
                )
            except ValidationError as error:
                line_errors = add_service_errors(error, form, formset)
                return self.render_form(request, form, formset, line_errors, document, status=400)
            if result.changed_fields:
                changed = ", ".join(
                    sorted(name.replace("_", " ") for name in result.changed_fields)
                )
                messages.success(request, f"{document} saved: {changed} changed.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("documents:detail", document_id=document.pk)
        return self.render_form(request, form, formset, document=document, status=400)


class DocumentDetailView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_DOCUMENTS

    def get(self, request, document_id):
        document = selectors.document_get_detail(org=request.org, document_id=document_id)
        return render(
            request,
            "documents/document_detail.html",
            {"document": document, "attachment_form": AttachmentForm()},
        )


class DocumentActionView(OrgPermissionRequiredMixin, View):
    """A one-click change of state: submit, approve, mark paid, void."""

    service = None
    done_message = ""

    def post(self, request, document_id):
        document = selectors.document_get(org=request.org, document_id=document_id)
        try:
            type(self).service(document=document, actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, self.done_message.format(document=document))
        return redirect("documents:detail", document_id=document.pk)


class DocumentSubmitView(DocumentActionView):
    permission = Perm.EDIT_DOCUMENTS
    service = services.document_submit
    done_message = "{document} submitted for approval."


class DocumentApproveView(DocumentActionView):
    permission = Perm.APPROVE_DOCUMENTS
    service = services.document_approve
    done_message = "{document} approved."


class DocumentMarkPaidView(DocumentActionView):
    permission = Perm.PAY_DOCUMENTS
    service = services.document_mark_paid
    done_message = "{document} marked paid."


class DocumentVoidView(DocumentActionView):
    permission = Perm.EDIT_DOCUMENTS
    service = services.document_void
    done_message = "{document} voided."


class PaymentCreateView(OrgPermissionRequiredMixin, View):
    permission = Perm.PAY_DOCUMENTS

    def render_form(self, request, document, form, status=200):
        return render(
            request,
            "documents/payment_form.html",
            {"document": document, "form": form},
            status=status,
        )

    def get(self, request, document_id):
        document = selectors.document_get(org=request.org, document_id=document_id)
        return self.render_form(
            request, document, PaymentForm(initial={"amount": document.amount_due})
        )

    def post(self, request, document_id):
        document = selectors.document_get(org=request.org, document_id=document_id)
        form = PaymentForm(request.POST)
        if form.is_valid():
            try:
                payment = services.payment_record(
                    document=document, actor=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                add_service_errors(error, form)
            else:
                messages.success(
                    request, f"Payment of {payment.amount} {document.currency} recorded."
                )
                return redirect("documents:detail", document_id=document.pk)
        return self.render_form(request, document, form, status=400)


class AttachmentUploadView(OrgPermissionRequiredMixin, View):
    permission = Perm.EDIT_DOCUMENTS

    def post(self, request, document_id):
        document = selectors.document_get(org=request.org, document_id=document_id)
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                attachment = services.attachment_add(
                    document=document, actor=request.user, upload=form.cleaned_data["file"]
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(request, f"{attachment.filename} attached.")
        else:
            messages.error(request, "Choose a file to attach.")
        return redirect(reverse("documents:detail", args=[document.pk]) + "#attachments")


class AttachmentDownloadView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_DOCUMENTS

    def get(self, request, attachment_id):
        attachment = selectors.attachment_get(org=request.org, attachment_id=attachment_id)
        return FileResponse(
            attachment.file.open("rb"),
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
