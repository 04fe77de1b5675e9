"""Xero Accounting API connector (bills = ACCPAY invoices, invoices = ACCREC) over httpx.

Wire format per Xero's published OpenAPI spec (integrations/specs/xero/xero_accounting.yaml)
and the notes in shared/specs/XERO_NOTES.md. Tokens are refreshed before they expire and once on
a 401; every refresh rotates the refresh token, which is saved through the context at once.

- `client.py`: endpoints, OAuth2, one call with auth and Xero's answers as our errors;
- `lookups.py`: what the connector reads (entries, the lock date, the mappings page's lists);
- `changes.py`: the reconcile's read of what changed in the ledger;
- `connector.py`: `XeroConnector`, the writes, the class behind `base.Connector`;
- `payloads.py`: our payloads as Xero's objects; `reads.py`: Xero's objects as our states;
- `catalogue.py`: what Xero's errors mean for AP staff, and its validation errors classified.

Registered as `xero` in settings.LEDGER_CONNECTORS.
"""

from integrations.connectors.xero.connector import XeroConnector
from integrations.connectors.xero.reads import parse_xero_date

__all__ = ["XeroConnector", "parse_xero_date"]
