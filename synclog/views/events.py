"""The event log: every sync attempt of the organisation, searchable by document number."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from synclog.selectors import attempts as selectors

PAGE_SIZE = 50


class EventLogView(OrgPermissionRequiredMixin, View):
    permission = Perm.VIEW_EVENT_LOG

    def get(self, request):
        filterset = selectors.attempt_filterset(org=request.org, filters=request.GET)
        page = Paginator(filterset.results, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        search = filterset.form.cleaned_data.get("q", "") if filterset.is_valid() else ""
        context = {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "search": search,
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
            # A document that never reached the ledger has no attempt: still show where it is.
            "matching_documents": selectors.documents_matching_number(
                org=request.org, number=search
            ),
        }
        # A search or filter change from the page swaps only the results.
        template = (
            "synclog/events/_event_results.html"
            if request.htmx and request.htmx.target == "event-results"
            else "synclog/events/event_log.html"
        )
        return render(request, template, context)
