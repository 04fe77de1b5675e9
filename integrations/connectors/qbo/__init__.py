"""QuickBooks Online Accounting API v3 connector over httpx: bills are Bills, invoices Invoices,
card and bank expenses Purchases (spent at once from a card or bank account).

Wire format per Intuit's XML Schemas (integrations/specs/qbo/, JSON keys = element names) and
shared/specs/QBO_NOTES.md. The company is the realm (`realmId` on the OAuth callback, kept as the
context's tenant id). Our reference rides in the entry's PrivateNote (the document URL with
`?ref=`), found again through `query` by DocNumber. Updates carry the entry's SyncToken; a stale
one (Fault 5010) reads the entry again and retries once. Every write carries a `requestid`
derived from our idempotency key, so a retry after a lost answer gets the first answer back.

- `client.py`: endpoints, OAuth2, one call with auth, Intuit's answers as our errors, queries;
- `lookups.py`: what the connector reads (entries, the lock date, the mappings page's lists);
- `changes.py`: the reconcile's read of what changed in the ledger;
- `connector.py`: `QboConnector`, the writes, the class behind `base.Connector`;
- `payloads.py`: our payloads as Intuit's objects; `reads.py`: Intuit's objects as our states;
- `catalogue.py`: what Intuit's Faults mean for AP staff, and a Fault classified.

Registered as `quickbooks` in settings.LEDGER_CONNECTORS.
"""

from integrations.connectors.qbo.connector import QboConnector
from integrations.connectors.qbo.payloads import request_id

__all__ = ["QboConnector", "request_id"]
