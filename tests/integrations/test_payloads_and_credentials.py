import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from documents import services as document_services
from documents.models import DocumentStatus
from integrations import services
from integrations.connectors.errors import ConfigurationError
from integrations.connectors.types import EntryKind
from integrations.models import Connection, MappingKind, Provider
from integrations.payloads import build_entry_payload, build_payment_payload, document_reference
from integrations.selectors import mapping_index
from tests.factories import CategoryFactory, DepartmentFactory, DocumentFactory


@pytest.fixture
def connection(org):
    return Connection.objects.create(
        org=org, provider=Provider.XERO, name="Xero", tenant_id="tenant-1"
    )


def map_category(connection, category, code="429"):
    services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=category.pk,
        external_id=f"account-{code}",
        external_name=f"{code} General Expenses",
        extra={"code": code},
    )


def test_credentials_are_encrypted_at_rest(connection):
    connection.credentials = {"access_token": "very-secret-token", "refresh_token": "r1"}
    connection.save()
    stored = Connection.objects.values_list("credentials_encrypted", flat=True).get()
    assert "very-secret-token" not in stored
    assert Connection.objects.get().credentials["access_token"] == "very-secret-token"


def test_credentials_from_another_key_cannot_be_read(connection, settings):
    connection.credentials = {"access_token": "a"}
    connection.save()
    settings.CREDENTIALS_ENCRYPTION_KEYS = ["5J0cN7b3L1yC2m8q0JkSg3vQm1T0bQy2m0ZkS8c4xUo="]
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Connection.objects.get().credentials  # noqa: B018


def test_key_rotation_keeps_old_credentials_readable(connection, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = ["5J0cN7b3L1yC2m8q0JkSg3vQm1T0bQy2m0ZkS8c4xUo="]
    connection.credentials = {"access_token": "old"}
    connection.save()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [
        "q8mJ0Jm3oQb7O0iQyX9wJ1c4R6mVt2PpQ0y8cZ1xk3A=",
        "5J0cN7b3L1yC2m8q0JkSg3vQm1T0bQy2m0ZkS8c4xUo=",
    ]
    assert Connection.objects.get().credentials == {"access_token": "old"}


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("http://127.0.0.1:8123", True),
        ("http://127.0.0.1:8123/", True),
        ("http://emulator:8124", True),
        ("http://localhost:8123/", False),  # loopback, but not a configured address
        ("http://[::1]:8123", False),
        ("http://127.0.0.1:6379", False),  # any other port on this machine
        ("http://127.0.0.1", False),
        ("https://127.0.0.1:8123", False),
        ("http://emulator:8123", False),
        ("http://10.0.0.5:8123", False),
        ("https://api.example.com", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_base_url_only_a_configured_emulator_address(settings, base_url, allowed):
    settings.LEDGER_EMULATOR_ALLOWED = True
    settings.XERO_EMULATOR_URL = "http://127.0.0.1:8123"
    settings.LEDGER_EMULATOR_URLS = ["http://emulator:8124/"]
    if allowed:
        assert services.base_url_validate(base_url) == base_url.rstrip("/")
    else:
        with pytest.raises(ValidationError):
            services.base_url_validate(base_url)


def test_base_url_refused_when_emulators_are_not_allowed(settings):
    settings.LEDGER_EMULATOR_ALLOWED = False
    with pytest.raises(ValidationError):
        services.base_url_validate("http://127.0.0.1:8123")
    assert services.base_url_validate("") == ""


def test_bill_payload_through_mappings(connection, org, bill):
    department = DepartmentFactory(org=org, name="Sales")
    bill.department = department
    bill.save()
    map_category(connection, bill.category)
    services.mapping_set(
        connection=connection,
        kind=MappingKind.TRACKING,
        local_id=department.pk,
        external_id="option-sales",
        external_name="Department: Sales",
        extra={"category_id": "cat-1", "category_name": "Department", "option_name": "Sales"},
    )
    payload = build_entry_payload(
        bill, connection=connection, mappings=mapping_index(connection=connection)
    )
    assert payload.kind == EntryKind.BILL
    assert payload.reference == document_reference(bill)
    assert payload.url.endswith(f"/documents/{bill.pk}/?ref={payload.reference}")
    assert payload.contact_name == bill.contact.name and payload.contact_id == ""
    assert [(line.account_code, line.unit_amount) for line in payload.lines] == [
        ("429", Decimal("100.00"))
    ]
    assert payload.lines[0].tracking[0].option_name == "Sales"
    assert payload.voided is False


def test_missing_account_mapping_names_the_category(connection, bill):
    with pytest.raises(ConfigurationError) as caught:
        build_entry_payload(bill, connection=connection, mappings={})
    assert caught.value.status_code == 4000
    assert f"Category {bill.category.name} has no Xero mapping" in caught.value.message
    assert "Mappings" in caught.value.hint


def test_missing_department_mapping_names_the_department(connection, org, bill):
    bill.department = DepartmentFactory(org=org, name="Travel desk")
    bill.save()
    map_category(connection, bill.category)
    with pytest.raises(ConfigurationError, match="Department Travel desk has no Xero mapping"):
        build_entry_payload(
            bill, connection=connection, mappings=mapping_index(connection=connection)
        )


def test_payment_payload_needs_a_bank_account(connection, bill, clerk):
    document_services.document_approve(document=bill, actor=clerk)
    payment = document_services.payment_record(
        document=bill, actor=clerk, amount="30.00", paid_at=datetime.date(2026, 11, 10)
    )
    with pytest.raises(ConfigurationError, match="no bank account"):
        build_payment_payload(payment, connection=connection, entry_external_id="inv-1")
    services.connection_settings_update(connection=connection, payment_account_code="090")
    payload = build_payment_payload(payment, connection=connection, entry_external_id="inv-1")
    assert (payload.account_code, payload.amount, payload.entry_id) == (
        "090",
        Decimal("30.00"),
        "inv-1",
    )


def test_void_document_payload_is_voided(connection, org):
    category = CategoryFactory(org=org)
    document = DocumentFactory(org=org, category=category, status=DocumentStatus.VOID)
    map_category(connection, category)
    payload = build_entry_payload(
        document, connection=connection, mappings=mapping_index(connection=connection)
    )
    assert payload.voided is True


def test_mapping_refuses_another_organisations_category(connection, other_org):
    foreign = CategoryFactory(org=other_org)
    with pytest.raises(ValidationError):
        services.mapping_set(
            connection=connection,
            kind=MappingKind.ACCOUNT,
            local_id=foreign.pk,
            external_id="x",
        )
