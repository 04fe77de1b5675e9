"""The partner endpoints: its companies (organisations), their connect links and connections."""

from rest_framework import serializers

from accounts.models import Organization
from api.serializers.syncs import ConnectionSerializer
from integrations.models import ConnectionStatus


class PartnerOrganizationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, default="USD", help_text="ISO 4217, e.g. EUR."
    )


class PartnerOrganizationSerializer(serializers.ModelSerializer):
    api_base = serializers.SerializerMethodField(
        help_text="Where this organisation's endpoints are for your partner key."
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "currency", "created_at", "api_base"]
        read_only_fields = fields

    def get_api_base(self, org: Organization) -> str:
        return f"/api/v1/organizations/{org.pk}/"


class ConnectLinkSerializer(serializers.Serializer):
    url = serializers.URLField(
        help_text="Send it to the company's owner: it works once, until expires_at. They "
        "create their admin sign-in there and connect their ledger."
    )
    expires_at = serializers.DateTimeField()


# A connection as GET /connections shows it, then its company and its health. (A comment: the
# schema would show a docstring as the component's description.)
class ConnectionHealthSerializer(ConnectionSerializer):
    organization = serializers.IntegerField(source="org_id")
    organization_name = serializers.CharField(source="org.name")
    healthy = serializers.SerializerMethodField(
        help_text="Active, and no record failed: nothing needs anyone."
    )
    failed_records = serializers.IntegerField(source="failed_count")
    pending_records = serializers.IntegerField(source="pending_count")

    class Meta(ConnectionSerializer.Meta):
        fields = [
            *ConnectionSerializer.Meta.fields,
            "organization",
            "organization_name",
            "healthy",
            "failed_records",
            "pending_records",
        ]
        read_only_fields = fields

    def get_healthy(self, connection) -> bool:
        return connection.status == ConnectionStatus.ACTIVE and connection.failed_count == 0
