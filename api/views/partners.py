"""The partner endpoints (a partner key, no organisation): create a company, send its owner a
connect link, list the companies and the health of their connections. Everything else a partner
does on a company goes through /api/v1/organizations/{org_id}/… (the same endpoints as an
organisation's key)."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response

from accounts.models import Organization
from api.permissions import HasPartnerKey
from api.schema import ErrorSerializer, api_schema
from api.serializers.partners import (
    ConnectionHealthSerializer,
    ConnectLinkSerializer,
    PartnerOrganizationCreateSerializer,
    PartnerOrganizationSerializer,
)
from api.views.base import ApiListView, ApiView, created_response
from integrations.models import Connection
from partners import selectors, services

TAGS = ["Partner"]
NOT_A_PARTNER = {
    403: OpenApiResponse(
        ErrorSerializer, description="Not a partner key (an organisation's key, for instance)."
    )
}


class PartnerApiView(ApiView):
    permission_classes = [HasPartnerKey]


class PartnerOrganizationListCreateApi(PartnerApiView, ApiListView):
    queryset = Organization.objects.none()  # only tells the schema the model
    serializer_class = PartnerOrganizationSerializer

    def get_queryset(self):
        return selectors.partner_organizations(partner=self.request.partner)

    @api_schema(
        summary="List your companies",
        description="The organisations your partner key created or was granted.",
        responses={200: PartnerOrganizationSerializer(many=True), **NOT_A_PARTNER},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a company",
        description="A new organisation in your scope. Then send its owner a connect link.",
        request=PartnerOrganizationCreateSerializer,
        responses={201: PartnerOrganizationSerializer, **NOT_A_PARTNER},
        post=True,
        tags=TAGS,
    )
    def post(self, request):
        return created_response(
            request,
            data_serializer=PartnerOrganizationCreateSerializer,
            create=services.partner_organization_create,
            serializer=PartnerOrganizationSerializer,
            partner=request.partner,
        )


class PartnerOrganizationDetailApi(PartnerApiView):
    @api_schema(
        summary="Read a company",
        responses={200: PartnerOrganizationSerializer, **NOT_A_PARTNER},
        lookup=True,
        tags=TAGS,
    )
    def get(self, request, company_id: int):
        org = selectors.partner_organization_get(partner=request.partner, org_id=company_id)
        return Response(PartnerOrganizationSerializer(org).data)


class PartnerConnectLinkApi(PartnerApiView):
    @api_schema(
        summary="Create a connect link for a company's owner",
        description="A one-time link (7 days): the owner creates their admin sign-in there and "
        "goes on to connect the company's ledger through its own consent pages.",
        request=None,
        responses={201: ConnectLinkSerializer, **NOT_A_PARTNER},
        lookup=True,
        post=True,
        tags=TAGS,
    )
    def post(self, request, company_id: int):
        org = selectors.partner_organization_get(partner=request.partner, org_id=company_id)
        created = services.connect_link_create(partner=request.partner, org=org)
        url = request.build_absolute_uri(reverse("partners:connect", args=[created.token]))
        return Response(
            ConnectLinkSerializer({"url": url, "expires_at": created.link.expires_at}).data,
            status=status.HTTP_201_CREATED,
        )


class PartnerConnectionListApi(PartnerApiView, ApiListView):
    queryset = Connection.objects.none()  # only tells the schema the model
    serializer_class = ConnectionHealthSerializer

    def get_queryset(self):
        return selectors.partner_connections(partner=self.request.partner)

    @api_schema(
        summary="List your companies' connections and their health",
        description="Every connection of every company in your scope: its status (active, "
        "needs_reauth, disabled, disconnected), the last check and error, and how many of its "
        "records failed or wait.",
        responses={200: ConnectionHealthSerializer(many=True), **NOT_A_PARTNER},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)
