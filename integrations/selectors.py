from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from documents.models import (
    SPEND_EXPENSE_TYPES,
    Category,
    Contact,
    Department,
    DocumentKind,
    DocumentLine,
    Payment,
)
from integrations.connectors import connector_class_for
from integrations.connectors.types import (
    AccountKind,
    EntryKind,
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


@dataclass(frozen=True)
class UnmappedBeforePush:
    """What a push of some documents would fail on for want of a mapping, by name (at most
    UNMAPPED_NAMES_SHOWN of each)."""

    categories: list[str]
    departments: list[str]
    contacts: list[str]
    payment_account: bool  # payments to push, and no bank account to pay them from

    def __bool__(self) -> bool:
        return bool(self.categories or self.departments or self.contacts or self.payment_account)


UNMAPPED_NAMES_SHOWN = 10


def connection_unmapped_before_push(
    *, connection: Connection, documents: QuerySet
) -> UnmappedBeforePush:
    """The categories, departments and (where the ledger takes contacts only by its own id)
    vendors of these documents that have no mapping on the connection, and whether their
    payments lack the bank account: what to map before pushing them (a few queries)."""
    mapped = Mapping.objects.filter(connection=connection)
    lines = DocumentLine.objects.filter(document__in=documents.values("pk"))

    def unmapped(model, kind: str, *used: QuerySet) -> list[str]:
        used_ids = Q()
        for ids in used:
            used_ids |= Q(pk__in=ids)
        names = (
            model.objects.filter(used_ids)
            .exclude(pk__in=mapped.filter(kind=kind).values("local_id"))
            .order_by("name")
            .values_list("name", flat=True)
        )
        return list(names[:UNMAPPED_NAMES_SHOWN])

    needs_contacts = connector_class_for(connection.provider).capabilities.contact_needs_mapping
    with_contact = documents
    if EntryKind.SPEND not in needs_contacts:  # a spend's payee is optional there
        spends = Q(kind=DocumentKind.EXPENSE, expense_type__in=SPEND_EXPENSE_TYPES)
        with_contact = documents.exclude(spends)
    return UnmappedBeforePush(
        categories=unmapped(
            Category,
            MappingKind.ACCOUNT,
            documents.values("category_id"),
            lines.values("category_id"),
        ),
        departments=unmapped(
            Department,
            MappingKind.TRACKING,
            documents.values("department_id"),
            lines.values("department_id"),
        ),
        contacts=unmapped(Contact, MappingKind.CONTACT, with_contact.values("contact_id"))
        if needs_contacts
        else [],
        payment_account=not connection.settings.get("payment_account_code")
        and Payment.objects.filter(document__in=documents.values("pk")).exists(),
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
    """Accounts, tracking options and contacts (and tax rates when asked), from the ledger, each
    request counted in the connection's quota (raises ConnectorError)."""
    from integrations.services import connector_for_page

    with connector_for_page(connection) as connector:
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
