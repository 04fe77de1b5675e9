from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from integrations.models import Connection, Mapping


def connection_list(*, org: Organization) -> QuerySet[Connection]:
    return Connection.objects.for_org(org)


def connection_get(*, org: Organization, connection_id: int) -> Connection:
    return get_object_or_404(Connection.objects.for_org(org), pk=connection_id)


def mapping_index(*, connection: Connection) -> dict[tuple[str, int], Mapping]:
    """All of a connection's mappings in one query, keyed by (kind, local id)."""
    return {
        (mapping.kind, mapping.local_id): mapping
        for mapping in Mapping.objects.filter(connection=connection)
    }
