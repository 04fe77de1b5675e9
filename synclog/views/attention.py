"""Requires attention: every failed record (and every one waiting for a reconnect), grouped by
cause, each group with what it means, where to fix it, and a retry of exactly its documents; a
group of entries changed in the ledger offers "Push ours again…" (the bulk re-sync confirmation
with its preview, synclog.views.bulk) and "Accept Xero's" (here) instead."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.backends.utils import csrf_input
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm, membership_has_perm
from documents.selectors import document_get
from integrations.models import Connection, ConnectionStatus
from synclog import services
from synclog.selectors import attention as selectors
from synclog.views.bulk import bulk_progress_url
from syncsvc.display import grouped, minute, url_pattern

GROUPS_PER_PAGE = 20
RECORDS_PER_PAGE = 25


def _render_tab(request, template: str, context: dict):
    """A page of the documents' Requires attention tab: the tab strip marks it, with its count."""
    context["attention_count"] = selectors.attention_document_count(org=request.org)
    context["active_tab"] = "attention"
    # Every form of the page carries the token: written once, not by a tag per row.
    context["csrf_input"] = csrf_input(request)
    return render(request, template, context)


def _with_row_values(request, shown: list[tuple[selectors.AttentionGroup, list]]) -> None:
    """What each group's rows show, computed here once per row rather than by the template's
    tags, filters and permission tests (most of the page's CPU: figure 3, issue 13):
    `row_action`, the group's last column ("retry", "push-new", "drift" or ""), and each
    record's tab URL, entry, amount, time and rowspan (its payments' too)."""
    tab_url = url_pattern("synclog:document-integrations")
    retry_url = url_pattern("synclog:attention-chain-retry", args=2)
    for group, records in shown:
        _group_row_values(request, group, records, tab_url=tab_url, retry_url=retry_url)


def _group_row_values(request, group, records, *, tab_url: str, retry_url: str) -> None:
    membership = request.membership
    if membership_has_perm(membership, Perm.RETRY_FAILED) and group.retryable:
        group.row_action = "retry"
    elif group.fix == "new-entry" and membership_has_perm(membership, Perm.RESYNC) and group.active:
        group.row_action = "push-new"
    elif group.fix == "drift":
        group.row_action = "drift"
    else:
        group.row_action = ""
    for record in records:
        document = record.document
        record.tab_url = tab_url.format(record.document_id) + f"?connection={record.connection_id}"
        record.entry_label = record.get_entry_type_display()
        record.amount_text = grouped(record.payment.amount if record.payment else document.total)
        record.changed_at = minute(record.updated_at)
        waiting = record.waiting_payments
        record.rowspan = len(waiting) + 1
        if waiting:
            record.waiting_label = f"{len(waiting)} payment{'s' if len(waiting) != 1 else ''}"
            for payment in waiting:
                payment.entry_label = payment.get_entry_type_display()
                payment.amount_text = grouped(payment.payment.amount)
                payment.paid_on = payment.payment.paid_at.isoformat()
        if group.row_action == "retry":
            record.retry_url = retry_url.format(record.connection_id, record.document_id)


def _refused_inactive(request, connection: Connection) -> bool:
    """Whether a retry on this connection is refused (it is not active), with why said."""
    if connection.status == ConnectionStatus.ACTIVE:
        return False
    messages.error(
        request,
        f"{connection.name} is {connection.get_status_display().lower()}: "
        "reconnect or enable it before retrying.",
    )
    return True


class AttentionView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_DOCUMENTS

    def get(self, request):
        # The groups' maintained counts, brought up to date with the records' changes first.
        services.attention_fold(org_id=request.org.pk)
        page = Paginator(selectors.AttentionGroupRows(org=request.org), GROUPS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        groups = selectors.attention_groups_with_records(
            org=request.org, group_rows=list(page.object_list)
        )
        selectors.attention_attach_waiting_payments(
            org=request.org, records=[record for group in groups for record in group.records]
        )
        _with_row_values(request, [(group, group.records) for group in groups])
        return _render_tab(
            request, "synclog/attention/attention.html", {"page": page, "groups": groups}
        )


class AttentionGroupView(OrgPermissionRequiredMixin, View):
    """All the records of one cause, paginated (the overview shows each group's newest)."""

    permission = Perm.VIEW_DOCUMENTS

    def get(self, request, connection_id, code, digest):
        services.attention_fold(org_id=request.org.pk)
        group, records = selectors.attention_group_get(
            org=request.org, connection_id=connection_id, code=code, digest=digest
        )
        page = selectors.attention_group_records_page(
            records=records,
            number=request.GET.get("page"),
            per_page=RECORDS_PER_PAGE,
            count=group.count if group else 0,
        )
        page.object_list = selectors.attention_attach_waiting_payments(
            org=request.org, records=page.object_list
        )
        if group is not None:
            _with_row_values(request, [(group, page.object_list)])
        return _render_tab(request, "synclog/attention/group.html", {"group": group, "page": page})


class AttentionRetryView(OrgPermissionRequiredMixin, View):
    """Retry this cause's documents on this connection, in a new run, and follow its progress."""

    permission = Perm.RETRY_FAILED

    def post(self, request, connection_id, code, digest):
        connection = get_object_or_404(Connection.objects.for_org(request.org), pk=connection_id)
        if (code, digest) == (selectors.WAITING_CODE, selectors.WAITING_DIGEST):
            messages.info(
                request, "These entries resume by themselves once the connection is reconnected."
            )
            return redirect("synclog:attention")
        if _refused_inactive(request, connection):
            return redirect("synclog:attention")
        group, _ = selectors.attention_group_get(
            org=request.org, connection_id=connection.pk, code=code, digest=digest
        )
        if group is not None and group.fix in ("new-entry", "drift"):
            # The page offers these groups their own fixes, not a retry (a post made anyway).
            ledger = group.ledger
            messages.info(
                request,
                f"A retry cannot help entries voided or deleted in {ledger}: push each as a new "
                "entry, or mark it Complete in Sync History."
                if group.fix == "new-entry"
                else f"Use “Push ours again…” (it shows what the push will change first) or "
                f"accept {ledger}'s.",
            )
            return redirect("synclog:attention")
        document_ids = selectors.attention_group_document_ids(
            org=request.org, connection=connection, code=code, digest=digest
        )
        if not document_ids:
            messages.info(request, "Nothing left to retry in this group.")
            return redirect("synclog:attention")
        try:
            runs = [
                services.retry_failed_records(
                    org=request.org,
                    connection=connection,
                    document_ids=document_ids,
                    actor=request.user,
                )
            ]
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("synclog:attention")
        count = len(document_ids)
        messages.success(request, f"Retry of {count} document{'s' if count != 1 else ''} started.")
        return redirect(bulk_progress_url(runs))


class AttentionChainRetryView(OrgPermissionRequiredMixin, View):
    """Retry one document's failed chain on this connection (its bill, then the payments waiting
    for it), in a new run, and follow its progress."""

    permission = Perm.RETRY_FAILED

    def post(self, request, connection_id, document_id):
        connection = get_object_or_404(Connection.objects.for_org(request.org), pk=connection_id)
        document = document_get(org=request.org, document_id=document_id)
        if _refused_inactive(request, connection):
            return redirect("synclog:attention")
        if not selectors.attention_chain_has_failures(
            org=request.org, connection_id=connection.pk, document_id=document.pk
        ):
            messages.info(request, f"Nothing of {document} is left to retry.")
            return redirect("synclog:attention")
        try:
            run = services.retry_failed_records(
                org=request.org,
                connection=connection,
                document_ids=[document.pk],
                actor=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("synclog:attention")
        entries = "1 entry" if run.total == 1 else f"{run.total} entries, the bill first"
        messages.success(request, f"Retry of {document} started ({entries}).")
        return redirect(bulk_progress_url([run]))


class AttentionAcceptLedgerView(OrgPermissionRequiredMixin, View):
    """ "Accept Xero's for these N" on a group of entries changed in the ledger: a confirmation,
    then each record marked Complete, audited (who, when, what the ledger holds)."""

    permission = Perm.UPDATE_SYNC_STATUS

    def get(self, request, connection_id, code, digest):
        group, _ = selectors.attention_group_get(
            org=request.org, connection_id=connection_id, code=code, digest=digest
        )
        if group is None or not group.ledger_drifted:
            messages.info(request, "Nothing in this group takes the ledger's version.")
            return redirect("synclog:attention")
        return _render_tab(request, "synclog/attention/accept_ledger.html", {"group": group})

    def post(self, request, connection_id, code, digest):
        connection = get_object_or_404(Connection.objects.for_org(request.org), pk=connection_id)
        try:
            count = services.attention_group_accept_ledger(
                org=request.org,
                connection_id=connection.pk,
                code=code,
                digest=digest,
                actor=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("synclog:attention")
        ledger = connection.get_provider_display()
        entries = "1 entry is" if count == 1 else f"{count} entries are"
        messages.success(
            request,
            f"{ledger}'s version is accepted: {entries} marked Complete (Sync History keeps who "
            f"did it, and what {ledger} holds).",
        )
        return redirect("synclog:attention")
