from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from integrations.connectors.base import (
    AccountKind,
    LedgerAccount,
    LedgerContact,
    LedgerTaxRate,
    LedgerTrackingOption,
)
from integrations.models import (
    Connection,
    ConnectionEvent,
    ConnectionStatus,
    Mapping,
    MappingKind,
)


def connection_list(*, org: Organization) -> QuerySet[Connection]:
    """The organisation's connections to ledgers."""
    return Connection.objects.for_org(org)


def connection_get(*, org: Organization, connection_id: int) -> Connection:
    """One connection of the organisation; another organisation's id is a 404, like a missing
    one."""
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


def connection_for_tenant(
    *, org: Organization, provider: str, base_url: str, tenant_id: str
) -> Connection | None:
    """This organisation's connection to that ledger tenant: its live one, else the latest
    it disconnected (whose records still know what is in that ledger), else None."""
    connections = Connection.objects.filter(
        org=org, provider=provider, base_url=base_url, tenant_id=tenant_id
    )
    live = connections.exclude(status=ConnectionStatus.DISCONNECTED).order_by("pk").first()
    return live or connections.order_by("-pk").first()


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
    tax_rates: list[LedgerTaxRate] = field(default_factory=list)

    @property
    def active_accounts(self) -> list[LedgerAccount]:
        return [account for account in self.accounts if account.status == "ACTIVE"]

    @property
    def bookable_accounts(self) -> list[LedgerAccount]:
        """What a category maps to: bills and invoices book to expense and revenue accounts,
        never to bank or system ones."""
        return [
            a for a in self.active_accounts if a.kind in (AccountKind.EXPENSE, AccountKind.REVENUE)
        ]

    @property
    def bank_accounts(self) -> list[LedgerAccount]:
        return [a for a in self.active_accounts if a.kind == AccountKind.BANK]

    def account(self, external_id: str) -> LedgerAccount | None:
        return next((a for a in self.accounts if a.external_id == external_id), None)

    def tracking_option(self, option_id: str) -> LedgerTrackingOption | None:
        return next((o for o in self.tracking_options if o.option_id == option_id), None)

    def contact(self, external_id: str) -> LedgerContact | None:
        return next((c for c in self.contacts if c.external_id == external_id), None)


def connection_ledger_choices(
    *, connection: Connection, with_tax_rates: bool = False
) -> LedgerChoices:
    """Accounts, tracking options and contacts (and tax rates when asked), from the ledger
    (raises ConnectorError)."""
    from integrations.services import connector_for

    connector = connector_for(connection)
    return LedgerChoices(
        accounts=connector.list_accounts(),
        tracking_options=connector.list_tracking_options(),
        contacts=[c for c in connector.list_contacts() if c.status == "ACTIVE"],
        tax_rates=[r for r in connector.list_tax_rates() if r.status == "ACTIVE"]
        if with_tax_rates
        else [],
    )


def connection_mappings(*, connection: Connection) -> dict:
    """Every category, department and vendor of the organisation with what it maps to on this
    connection (null when nothing), and the payment bank account: from our rows, no ledger call."""
    from documents.selectors import category_list, department_list, vendor_list

    org = connection.org
    index = mapping_index(connection=connection)

    def mapped(kind: str, local_id: int) -> Mapping | None:
        return index.get((kind, local_id))

    accounts = []
    for category in category_list(org=org).order_by("name", "pk"):
        mapping = mapped(MappingKind.ACCOUNT, category.pk)
        accounts.append(
            {
                "category_id": category.pk,
                "category_name": category.name,
                "account": {
                    "id": mapping.external_id,
                    "code": mapping.extra.get("code", ""),
                    "name": mapping.extra.get("name", mapping.external_name),
                }
                if mapping
                else None,
            }
        )
    tracking = []
    for department in department_list(org=org).order_by("name", "pk"):
        mapping = mapped(MappingKind.TRACKING, department.pk)
        tracking.append(
            {
                "department_id": department.pk,
                "department_name": department.name,
                "tracking_option": {
                    "id": mapping.external_id,
                    "name": mapping.extra.get("option_name", ""),
                    "category_id": mapping.extra.get("category_id", ""),
                    "category_name": mapping.extra.get("category_name", ""),
                }
                if mapping
                else None,
            }
        )
    contacts = []
    for vendor in vendor_list(org=org).order_by("name", "pk"):
        mapping = mapped(MappingKind.CONTACT, vendor.pk)
        contacts.append(
            {
                "vendor_id": vendor.pk,
                "vendor_name": vendor.name,
                "contact": {"id": mapping.external_id, "name": mapping.external_name}
                if mapping
                else None,
            }
        )
    return {
        "accounts": accounts,
        "tracking": tracking,
        "contacts": contacts,
        "payment_bank_account_code": connection.settings.get("payment_account_code") or None,
        "spend_account_codes": {
            kind: connection.settings.get("spend_account_codes", {}).get(kind) or None
            for kind in ("card", "bank")
        },
    }
