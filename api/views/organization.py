"""The API key's own organisation and its settings."""

from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import DatasetSync, Organization
from api.schema import api_schema
from api.views.base import ApiView


class OrganizationSerializer(serializers.ModelSerializer):
    dataset_sync = serializers.ChoiceField(
        choices=DatasetSync.choices,
        help_text="staged: a pushed expense dataset is held until `POST /syncs` names it, and "
        "that sync pushes it in batches; on_push: each item syncs as soon as it is pushed. "
        "Set by the organisation's administrators.",
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "currency", "dataset_sync"]
        read_only_fields = fields


class OrganizationApi(ApiView):
    @api_schema(
        summary="Read your organisation",
        description="The organisation this API key acts for, and its settings.",
        responses={200: OrganizationSerializer},
        tags=["Organisation"],
    )
    def get(self, request):
        return Response(OrganizationSerializer(request.org).data)
