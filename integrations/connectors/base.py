"""The one interface every ledger connector implements (`Connector`).

A connector never sees our models: the engine builds payloads (with mappings already resolved to
the ledger's ids and codes) and hands the connector a `ConnectorContext` with what it needs of the
connection. So a connector can be tested without a database, and a new ledger needs no knowledge of
our schema. The types it speaks are in `types.py`; what the three ledgers' connectors share over
HTTP is `client.LedgerClient`.
"""

import datetime
from abc import ABC, abstractmethod
from typing import ClassVar

from integrations.connectors.errors import NotFoundError, PermanentError
from integrations.connectors.types import (
    AttachmentState,
    BatchItemResult,
    Capabilities,
    ConnectionCheck,
    ConnectorContext,
    EntryKind,
    EntryPayload,
    EntryState,
    LedgerAccount,
    LedgerChanges,
    LedgerContact,
    LedgerLockDate,
    LedgerTaxRate,
    LedgerTenant,
    LedgerTrackingOption,
    OAuthCredentials,
    PaymentPayload,
    PaymentState,
)


class Connector(ABC):
    provider: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, context: ConnectorContext):
        self.context = context

    @abstractmethod
    def close(self) -> None:
        """Let go of the HTTP client; the engine calls it when it is done with the connector."""

    @classmethod
    def requests_before_push(cls, *, base_url: str, tenant_id: str) -> int:
        """HTTP requests a new connector in this process makes before a push's own (lists it
        reads once and remembers): the engine asks the quota for them too. None here."""
        return 0

    @classmethod
    def tenant_from_callback(cls, params) -> str:
        """The tenant the ledger named on the OAuth redirect (every parameter of it is given),
        or empty where the ledger lists the consent's tenants through its API instead."""
        return ""

    # OAuth2 set-up (class level: there is no connection yet)
    @classmethod
    @abstractmethod
    def authorization_url(cls, *, base_url: str, redirect_uri: str, state: str) -> str: ...

    @classmethod
    @abstractmethod
    def exchange_code(
        cls, *, base_url: str, code: str, redirect_uri: str, transport=None
    ) -> OAuthCredentials: ...

    @abstractmethod
    def list_tenants(self) -> list[LedgerTenant]: ...

    def list_consent_tenants(self) -> list[LedgerTenant]:
        """The tenants granted by the consent that produced these credentials (not every tenant
        the ledger user ever connected). A ledger without that notion: all of them."""
        return self.list_tenants()

    @abstractmethod
    def check_connection(self) -> ConnectionCheck: ...

    @abstractmethod
    def refresh_credentials(self) -> OAuthCredentials: ...

    @abstractmethod
    def read_lock_date(self) -> LedgerLockDate:
        """The ledger's lock (closing) date: the last day on which nothing may be written."""

    @abstractmethod
    def revoke(self, *, connection_id: str = "", keep_link: bool = False) -> None:
        """Disconnect our own link to the tenant at the ledger (its id when the ledger has one;
        none when keep_link) and kill our tokens; never another link to the same tenant."""

    # entries
    @abstractmethod
    def find_entries(
        self, *, kind: EntryKind, reference: str, number: str = ""
    ) -> list[EntryState]:
        """Entries that carry our reference (a number alone is not unique on every ledger)."""

    @abstractmethod
    def find_entries_many(
        self, *, kind: EntryKind, numbers: list[str]
    ) -> dict[str, list[EntryState]]:
        """The entries with any of these numbers, keyed by our reference (one call per page)."""

    @abstractmethod
    def get_entry(self, *, kind: EntryKind, external_id: str) -> EntryState: ...

    @abstractmethod
    def create_entry(self, payload: EntryPayload, *, idempotency_key: str) -> EntryState: ...

    def create_entries(
        self, payloads: list[EntryPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """Many entries in one call where the ledger takes them (each element answers with its
        state or its own error); a ledger without a batch (capabilities.batch_size 1) creates
        them one by one here."""
        return self._one_by_one(
            [(payload, (payload,)) for payload in payloads], self.create_entry, idempotency_key
        )

    @abstractmethod
    def update_entry(
        self, external_id: str, payload: EntryPayload, *, idempotency_key: str
    ) -> EntryState: ...

    def get_entries(self, *, kind: EntryKind, external_ids: list[str]) -> dict[str, EntryState]:
        """The entries with these ids, by id; one the ledger no longer has is left out. In as
        few calls as the ledger allows; a ledger without such a read reads them one by one."""
        found = {}
        for external_id in external_ids:
            try:
                found[external_id] = self.get_entry(kind=kind, external_id=external_id)
            except NotFoundError:
                continue
        return found

    def update_entries(
        self, updates: list[tuple[str, EntryPayload]], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """Many (external id, payload) updates in one call where the ledger takes them, each
        element answered with its state or its own error; else one by one."""
        return self._one_by_one(
            [(payload, (external_id, payload)) for external_id, payload in updates],
            self.update_entry,
            idempotency_key,
        )

    @abstractmethod
    def create_payment(self, payload: PaymentPayload, *, idempotency_key: str) -> PaymentState: ...

    def find_payments(self, *, reference: str, entry_id: str) -> list[PaymentState]:
        """The live payments of an entry that carry our reference: where a payment whose push
        lost its answer may be."""
        raise NotImplementedError

    def create_payments(
        self, payloads: list[PaymentPayload], *, idempotency_key: str
    ) -> list[BatchItemResult]:
        """Many payments in one call where the ledger takes them (each element answers with its
        state or its own error). A ledger without such a call pushes them one by one here."""
        return self._one_by_one(
            [(payload, (payload,)) for payload in payloads], self.create_payment, idempotency_key
        )

    @staticmethod
    def _one_by_one(items, push, idempotency_key: str) -> list[BatchItemResult]:
        """A batch pushed one call per (payload, arguments) item, each with its own key: a
        refusal is kept on its own element; a throttle or outage stops the batch for the engine
        to retry."""
        results = []
        for index, (payload, arguments) in enumerate(items):
            try:
                state = push(*arguments, idempotency_key=f"{idempotency_key}-{index}")
            except PermanentError as error:
                results.append(BatchItemResult(payload=payload, error=error))
            else:
                results.append(BatchItemResult(payload=payload, state=state))
        return results

    # Whether changes_since is implemented (the reconcile skips a ledger without it).
    reads_changes: ClassVar[bool] = False

    def changes_since(
        self, *, since: datetime.datetime, kinds: frozenset, payments: bool
    ) -> LedgerChanges:
        """The entries of these kinds (and, with `payments`, the payments) created or changed in
        the ledger since `since`, deleted and voided ones included: what a reconcile compares
        with what we pushed. Every page of the answer is read."""
        raise NotImplementedError

    @abstractmethod
    def attach_file(
        self, *, kind: EntryKind, external_id: str, filename: str, content: bytes, content_type: str
    ) -> AttachmentState: ...

    # choices for mappings
    @abstractmethod
    def list_accounts(self) -> list[LedgerAccount]: ...

    @abstractmethod
    def list_contacts(self) -> list[LedgerContact]: ...

    @abstractmethod
    def list_tracking_options(self) -> list[LedgerTrackingOption]: ...

    @abstractmethod
    def list_tax_rates(self) -> list[LedgerTaxRate]: ...
