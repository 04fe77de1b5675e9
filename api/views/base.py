"""The base of every API view: API-key authentication, the organisation, the rate limit, the
error shape, cursor pagination and django-filter FilterSets that know the organisation."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ApiKeyAuthentication
from api.exceptions import api_exception_handler
from api.pagination import ApiCursorPagination
from api.parsers import ApiJSONParser
from api.permissions import HasApiKey
from api.throttling import ApiKeyRateThrottle, rate_limit_headers


class OrgFilterBackend(DjangoFilterBackend):
    """django-filter, with the request's organisation given to the FilterSet (its choices of
    contacts, connections… are the organisation's own). An invalid filter is a 400."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        kwargs["org"] = request.org
        return kwargs

    def filter_queryset(self, request, queryset, view):
        # django-filter reads `?status=` as no filter; the schema says a listed value, a date,
        # an id: a blank one is refused as the schema says (free text may be blank).
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            blank = {
                name: ["Give a value, or leave the parameter out."]
                for name, filter_ in filterset_class.base_filters.items()
                if not isinstance(filter_, django_filters.CharFilter)
                and name in request.query_params
                and not request.query_params[name].strip()
            }
            if blank:
                raise ValidationError(blank)
        return super().filter_queryset(request, queryset, view)


class ApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiKeyRateThrottle]
    # JSON bodies only (415 otherwise): a form-encoded PATCH reads an absent checkbox as false,
    # so `-F description=renamed` disabled a webhook endpoint. Uploads set their own parsers.
    parser_classes = [ApiJSONParser]

    def dispatch(self, request, *args, **kwargs):
        # /api/v1/organizations/{org_id}/… serves every endpoint again: the organisation comes
        # from the path (checked against the key in authentication), the view never sees it.
        request.path_org_id = kwargs.pop("org_id", None)
        return super().dispatch(request, *args, **kwargs)

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # On 2xx too: a partner paces itself before it meets a 429.
        for name, value in rate_limit_headers(request).items():
            response[name] = value
        return response

    @property
    def actor_label(self) -> str:
        return str(self.request.user)[:150]


# GET a list: the selector's queryset, filtered by `filterset_class`, cursor-paginated. Views set
# `serializer_class` (the output), `filterset_class`, and get_queryset() calls a selector with
# request.org. (A comment, not a docstring: the schema would show it as each list's description.)
class ApiListView(ApiView, generics.GenericAPIView):
    pagination_class = ApiCursorPagination
    filter_backends = [OrgFilterBackend]

    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def created_response(request, *, data_serializer, create, serializer, **known) -> Response:
    """A create endpoint's answer: the body validated by `data_serializer` (else a 400 with its
    field errors), `create(**known, **fields)` called, 201 with the new object in `serializer`."""
    data = data_serializer(data=request.data)
    data.is_valid(raise_exception=True)
    created = create(**known, **data.validated_data)
    return Response(serializer(created).data, status=status.HTTP_201_CREATED)
