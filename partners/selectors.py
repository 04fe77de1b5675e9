"""Every read of partners, scoped by the partner: another partner's organisation is missing."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from integrations.models import Connection
from partners.models import Partner, PartnerOrganization
from synclog.models import RecordStatus


def partner_organizations(*, partner: Partner) -> QuerySet[Organization]:
    """The organisations in the partner's scope, by name."""
    return Organization.objects.filter(
        pk__in=PartnerOrganization.objects.filter(partner=partner).values("org_id")
    ).order_by("name", "pk")


def partner_organization_get(*, partner: Partner, org_id: int) -> Organization:
    """One organisation in the partner's scope; any other id is a 404."""
    return get_object_or_404(partner_organizations(partner=partner), pk=org_id)


def partner_grant_for(*, partner: Partner, org_id: int) -> PartnerOrganization | None:
    """The grant the partner acts through on this organisation, when it holds one still valid."""
    return (
        PartnerOrganization.objects.select_related("org", "api_key")
        .filter(partner=partner, org_id=org_id, api_key__revoked_at__isnull=True)
        .first()
    )


def partner_connections(*, partner: Partner, org_id: int | None = None) -> QuerySet[Connection]:
    """The connections of the partner's companies, each with its health: records failed and
    pending (one query)."""
    connections = Connection.objects.filter(
        org__in=partner_organizations(partner=partner)
    ).select_related("org")
    if org_id is not None:
        connections = connections.filter(org_id=org_id)
    return connections.annotate(
        failed_count=Count("records", filter=Q(records__status=RecordStatus.FAILED)),
        pending_count=Count("records", filter=Q(records__status=RecordStatus.PENDING)),
    ).order_by("org__name", "name", "pk")
