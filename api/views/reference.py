"""Contacts, categories and departments: list, read, create."""

from rest_framework.response import Response

from api import selectors
from api.filters import CategoryFilter, ContactFilter, DepartmentFilter
from api.idempotency import idempotent
from api.schema import api_schema
from api.serializers.reference import (
    CategoryCreateSerializer,
    CategorySerializer,
    ContactCreateSerializer,
    ContactSerializer,
    DepartmentCreateSerializer,
    DepartmentSerializer,
)
from api.views.base import ApiListView, ApiView, created_response
from documents import services
from documents.models import Category, Contact, Department

CONTACTS = ["Contacts"]
CATEGORIES = ["Categories"]
DEPARTMENTS = ["Departments"]


class ContactListCreateApi(ApiListView):
    queryset = Contact.objects.none()  # only tells the schema the model
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def get_queryset(self):
        return selectors.contact_list(org=self.request.org)

    @api_schema(
        summary="List contacts", responses={200: ContactSerializer(many=True)}, tags=CONTACTS
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a contact",
        description="A vendor (for bills and expenses) or a customer (for invoices).",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
        post=True,
        tags=CONTACTS,
    )
    @idempotent
    def post(self, request):
        return created_response(
            request,
            data_serializer=ContactCreateSerializer,
            create=services.contact_create,
            serializer=ContactSerializer,
            org=request.org,
        )


class ContactDetailApi(ApiView):
    @api_schema(
        summary="Read a contact", responses={200: ContactSerializer}, lookup=True, tags=CONTACTS
    )
    def get(self, request, contact_id: int):
        contact = selectors.contact_get(org=request.org, contact_id=contact_id)
        return Response(ContactSerializer(contact).data)


class CategoryListCreateApi(ApiListView):
    queryset = Category.objects.none()  # only tells the schema the model
    serializer_class = CategorySerializer
    filterset_class = CategoryFilter

    def get_queryset(self):
        return selectors.category_list(org=self.request.org)

    @api_schema(
        summary="List categories", responses={200: CategorySerializer(many=True)}, tags=CATEGORIES
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a category",
        description="A GL category; `code` is the ledger account code it books to. It must "
        "be mapped to a ledger account on each connection before documents using it can sync.",
        request=CategoryCreateSerializer,
        responses={201: CategorySerializer},
        post=True,
        tags=CATEGORIES,
    )
    @idempotent
    def post(self, request):
        return created_response(
            request,
            data_serializer=CategoryCreateSerializer,
            create=services.category_create,
            serializer=CategorySerializer,
            org=request.org,
        )


class CategoryDetailApi(ApiView):
    @api_schema(
        summary="Read a category", responses={200: CategorySerializer}, lookup=True, tags=CATEGORIES
    )
    def get(self, request, category_id: int):
        category = selectors.category_get(org=request.org, category_id=category_id)
        return Response(CategorySerializer(category).data)


class DepartmentListCreateApi(ApiListView):
    queryset = Department.objects.none()  # only tells the schema the model
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter

    def get_queryset(self):
        return selectors.department_list(org=self.request.org)

    @api_schema(
        summary="List departments",
        responses={200: DepartmentSerializer(many=True)},
        tags=DEPARTMENTS,
    )
    def get(self, request):
        return super().get(request)

    @api_schema(
        summary="Create a department",
        request=DepartmentCreateSerializer,
        responses={201: DepartmentSerializer},
        post=True,
        tags=DEPARTMENTS,
    )
    @idempotent
    def post(self, request):
        return created_response(
            request,
            data_serializer=DepartmentCreateSerializer,
            create=services.department_create,
            serializer=DepartmentSerializer,
            org=request.org,
        )


class DepartmentDetailApi(ApiView):
    @api_schema(
        summary="Read a department",
        responses={200: DepartmentSerializer},
        lookup=True,
        tags=DEPARTMENTS,
    )
    def get(self, request, department_id: int):
        department = selectors.department_get(org=request.org, department_id=department_id)
        return Response(DepartmentSerializer(department).data)
