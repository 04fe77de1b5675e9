"""Mappings of local categories, departments and contacts to the ledger's accounts, tracking
options and contacts: one, many, or the accounts matched by code."""

from django.core.exceptions import ValidationError
from django.db import transaction

from documents.models import Category, Contact, Department
from integrations.connectors.types import LedgerAccount, LedgerTrackingOption
from integrations.models import Connection, Mapping, MappingKind
from integrations.services.connections import connection_settings_update

LOCAL_MODEL_FOR_KIND = {
    MappingKind.ACCOUNT: Category,
    MappingKind.TRACKING: Department,
    MappingKind.CONTACT: Contact,
}


def mapping_set(
    *,
    connection: Connection,
    kind: str,
    local_id: int,
    external_id: str,
    external_name: str = "",
    extra: dict | None = None,
) -> Mapping | None:
    """Map one of our objects to the ledger's; an empty external id removes the mapping."""
    local_model = LOCAL_MODEL_FOR_KIND.get(kind)
    if local_model is None:
        raise ValidationError({"kind": f"Unknown mapping kind {kind!r}."})
    if not local_model.objects.for_org(connection.org).filter(pk=local_id).exists():
        raise ValidationError({"local_id": "Choose a valid option: that one does not exist."})
    if not external_id:
        Mapping.objects.filter(connection=connection, kind=kind, local_id=local_id).delete()
        return None
    mapping, _ = Mapping.objects.update_or_create(
        connection=connection,
        kind=kind,
        local_id=local_id,
        defaults={
            "external_id": external_id,
            "external_name": external_name,
            "extra": extra or {},
        },
    )
    return mapping


def account_mapping_extra(account: LedgerAccount) -> dict:
    """What a category's mapping keeps of its ledger account: the code and name shown."""
    return {"code": account.code, "name": account.name}


def mapping_set_account(
    *, connection: Connection, category_id: int, account: LedgerAccount | None
) -> Mapping | None:
    """Book a category to a ledger account as the mappings page does (its code and name shown,
    and kept for the payload); None removes the mapping."""
    return mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=category_id,
        external_id=account.external_id if account else "",
        external_name=f"{account.code} {account.name}" if account else "",
        extra=account_mapping_extra(account) if account else {},
    )


def mapping_set_tracking(
    *, connection: Connection, department_id: int, option: LedgerTrackingOption | None
) -> Mapping | None:
    """Tag a department's lines with a ledger tracking option as the mappings page does (its
    category and option kept for the payload); None removes the mapping."""
    return mapping_set(
        connection=connection,
        kind=MappingKind.TRACKING,
        local_id=department_id,
        external_id=option.option_id if option else "",
        external_name=f"{option.category_name}: {option.option_name}" if option else "",
        extra={
            "category_id": option.category_id,
            "category_name": option.category_name,
            "option_name": option.option_name,
        }
        if option
        else {},
    )


@transaction.atomic
def mappings_auto_map_accounts(
    *, connection: Connection, accounts: list[LedgerAccount]
) -> list[Mapping]:
    """Map each unmapped category to the active ledger account with the same code."""
    by_code = {account.code: account for account in accounts if account.status == "ACTIVE"}
    mapped = set(
        Mapping.objects.filter(connection=connection, kind=MappingKind.ACCOUNT).values_list(
            "local_id", flat=True
        )
    )
    created = []
    for category in Category.objects.for_org(connection.org).exclude(pk__in=mapped):
        account = by_code.get(category.code)
        if account is not None:
            created.append(
                mapping_set_account(connection=connection, category_id=category.pk, account=account)
            )
    return created


@transaction.atomic
def mappings_save(
    *,
    connection: Connection,
    choices,
    accounts: dict[int, str],
    tracking: dict[int, str],
    contacts: dict[int, str],
    payment_account_code: str,
) -> None:
    """Save the mapping page, each choice checked against what the ledger offers."""
    errors = {}
    for category_id, account_id in accounts.items():
        account = choices.account(account_id) if account_id else None
        if account_id and account is None:
            errors[f"account_{category_id}"] = "That account is not in the ledger any more."
            continue
        mapping_set_account(connection=connection, category_id=category_id, account=account)
    for department_id, option_id in tracking.items():
        option = choices.tracking_option(option_id) if option_id else None
        if option_id and option is None:
            errors[f"tracking_{department_id}"] = (
                "That tracking option is not in the ledger any more."
            )
            continue
        mapping_set_tracking(connection=connection, department_id=department_id, option=option)
    for vendor_id, contact_id in contacts.items():
        contact = choices.contact(contact_id) if contact_id else None
        if contact_id and contact is None:
            errors[f"contact_{vendor_id}"] = "That contact is not in the ledger any more."
            continue
        mapping_set(
            connection=connection,
            kind=MappingKind.CONTACT,
            local_id=vendor_id,
            external_id=contact_id,
            external_name=contact.name if contact else "",
        )
    bank_codes = {a.code for a in choices.bank_accounts}
    if payment_account_code and payment_account_code not in bank_codes:
        errors["payment_account_code"] = "Choose one of the ledger's bank accounts."
    if errors:
        raise ValidationError(errors)
    connection_settings_update(connection=connection, payment_account_code=payment_account_code)
