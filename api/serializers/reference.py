"""Contacts, categories (ledger accounts) and departments (tracking)."""

from rest_framework import serializers

from documents.models import Category, Contact, ContactKind, Department


class ContactSerializer(serializers.ModelSerializer):
    # Blank when unknown: not an email address then (the schema must allow "").
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "kind", "tax_number", "email", "created_at"]
        read_only_fields = fields


class ContactCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ContactKind.choices, default=ContactKind.VENDOR)
    tax_number = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    # No default: "" is not an email address, and the schema would say so.
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "code"]
        read_only_fields = fields


class CategoryCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    code = serializers.CharField(max_length=30, help_text="The ledger account code it books to.")


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name"]
        read_only_fields = fields


class DepartmentCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
