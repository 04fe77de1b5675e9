"""The reconcile's read of MYOB: every entry (and payment) of the kinds asked for, a complete
listing, since MYOB has no filter on the time of a change.
"""

import datetime
import json

from integrations.connectors.myob.lookups import PAGE, MyobLookups
from integrations.connectors.myob.payloads import PAYMENT_RESOURCE, RESOURCE
from integrations.connectors.myob.reads import entry_state, payment_state
from integrations.connectors.types import CallRecord, ChangedEntry, LedgerChanges


class MyobChanges(MyobLookups):
    """`changes_since` on the connector's reads."""

    # MYOB's documented OData subset has no filter on the time of a change (NOTES.md): the
    # reconcile lists every entry of the kinds it asks for and compares each with ours.
    reads_changes = True

    def changes_since(
        self, *, since: datetime.datetime, kinds: frozenset, payments: bool
    ) -> LedgerChanges:
        """Every entry of these kinds, page by page ($top 1000), `since` not applied (MYOB
        offers no filter on it that its documentation names): a complete listing, so that one
        of ours missing from it is known deleted. With `payments`, every supplier and
        customer payment of those kinds too, for the same reason."""
        found, found_payments = [], []
        lists = [(kind, RESOURCE[kind], False) for kind in sorted(kinds & set(RESOURCE))]
        if payments:
            lists += [
                (kind, PAYMENT_RESOURCE[kind], True)
                for kind in sorted(kinds & set(PAYMENT_RESOURCE))
            ]
        for kind, resource, is_payment in lists:
            path, params = resource, {"$top": str(PAGE)}
            while True:
                response = self._send("GET", path, params=params)
                page = response.json()
                call = dict(
                    method="GET",
                    url=str(response.request.url),
                    http_status=response.status_code,
                    duration_ms=int(response.elapsed.total_seconds() * 1000),
                )
                for body in page.get("Items", []):
                    # Its own element of the answer, for its record's log.
                    element = CallRecord(
                        **call, response_body=self.redact(json.dumps({"Items": [body]}))
                    )
                    if is_payment:
                        state = payment_state(body, entry_id="")
                        found_payments.append(ChangedEntry(None, state, element))
                    else:
                        found.append(ChangedEntry(kind, entry_state(kind, body), element))
                following = page.get("NextPageLink")
                if not following:
                    break
                path, params = following, None
        return LedgerChanges(entries=tuple(found), payments=tuple(found_payments), complete=True)
