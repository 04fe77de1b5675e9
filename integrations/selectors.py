from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from integrations.connectors.base import LedgerAccount, LedgerContact, LedgerTrackingOption
from integrations.models import Connection, ConnectionEvent, ConnectionStatus, Mapping


def connection_list(*, org: Organization) -> QuerySet[Connection]:
    return Connection.objects.for_org(org)


def connection_get(*, org: Organization, connection_id: int) -> Connection:
    return get_object_or_404(Connection.objects.for_org(org), pk=connection_id)


def connection_event_list(*, connection: Connection, limit: int = 50) -> list[ConnectionEvent]:
    """The connection's latest events (who connected, disabled, enabled, disconnected)."""
    return list(connection.events.select_related("actor")[:limit])


def connection_tenant_bound_elsewhere(
    *, org: Organization, provider: str, base_url: str, tenant_id: str
) -> bool:
    """Is this ledger tenant already the target of another organisation's live connection?
    (Deliberately across organisations: two tenants' bills must not meet in one ledger unasked.)"""
    return (
        Connection.objects.filter(provider=provider, base_url=base_url, tenant_id=tenant_id)
        .exclude(org=org)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .exists()
    )


def connection_ledger_link_shared(*, connection: Connection) -> bool:
    """Does another live connection of ours use the same link at the ledger?"""
    if not connection.ledger_connection_id:
        return False
    return (
        Connection.objects.filter(
            provider=connection.provider,
            base_url=connection.base_url,
            ledger_connection_id=connection.ledger_connection_id,
        )
        .exclude(pk=connection.pk)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .exists()
    )


def mapping_index(*, connection: Connection) -> dict[tuple[str, int], Mapping]:
    """All of a connection's mappings in one query, keyed by (kind, local id)."""
    return {
        (mapping.kind, mapping.local_id): mapping
        for mapping in Mapping.objects.filter(connection=connection)
    }


@dataclass(frozen=True)
class LedgerChoices:
    """What the ledger offers to map to, read live from it."""

    accounts: list[LedgerAccount]
    tracking_options: list[LedgerTrackingOption]
    contacts: list[LedgerContact]

    @property
    def active_accounts(self) -> list[LedgerAccount]:
        return [account for account in self.accounts if account.status == "ACTIVE"]

    def account(self, external_id: str) -> LedgerAccount | None:
        return next((a for a in self.accounts if a.external_id == external_id), None)

    def tracking_option(self, option_id: str) -> LedgerTrackingOption | None:
        return next((o for o in self.tracking_options if o.option_id == option_id), None)

    def contact(self, external_id: str) -> LedgerContact | None:
        return next((c for c in self.contacts if c.external_id == external_id), None)


def connection_ledger_choices(*, connection: Connection) -> LedgerChoices:
    """Accounts, tracking options and contacts, from the ledger (raises ConnectorError)."""
    from integrations.services import connector_for

    connector = connector_for(connection)
    return LedgerChoices(
        accounts=connector.list_accounts(),
        tracking_options=connector.list_tracking_options(),
        contacts=[c for c in connector.list_contacts() if c.status == "ACTIVE"],
    )
