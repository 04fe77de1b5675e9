"""MYOB Business API (AccountRight v2) connector: bills = Purchase/Bill/Service, invoices =
Sale/Invoice/Service, over httpx.

Wire format per integrations/specs/myob/ (NOTES.md and a JSON Schema per entity). The company
file the admin chose comes back on the OAuth redirect as `businessId` and is the context's
tenant id; every call goes to `{api}/accountright/{businessId}/...` with the bearer token, our
API key (`x-myobapi-key`) and `x-myobapi-version: v2`. Our reference rides in the entry's
JournalMemo (the document URL with `?ref=`), found again through `$filter` on the supplier
invoice number (bills) or number (invoices). Updates carry the entry's RowVersion; a stale one
(409) reads the entry again and retries once. MYOB has no batch endpoint: one entry per call.

MYOB's limits belong to our API key across every tenant (8 calls a second, 1,000,000 a day):
a 429 (or a 403 "per-second") is a throttle to wait out, a 403 "daily" the day's quota spent.

- `client.py`: endpoints, OAuth2, one call with MYOB's headers, MYOB's answers as our errors;
- `lookups.py`: what the connector reads (entries, the lock date, the mappings page's lists);
- `changes.py`: the reconcile's read of what changed in the ledger;
- `connector.py`: `MyobConnector`, the writes, the class behind `base.Connector`;
- `payloads.py`: where our entries go in MYOB; `reads.py`: MYOB's objects as our states;
- `catalogue.py`: what MYOB's errors mean for AP staff, and an error classified.

Registered as `myob` in settings.LEDGER_CONNECTORS.
"""

from integrations.connectors.myob.connector import MyobConnector

__all__ = ["MyobConnector"]
