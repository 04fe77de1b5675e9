"""Shared steps of the API tests: unmapped categories and their fix, runs."""

from integrations import services as integration_services
from integrations.models import MappingKind


def map_category_like(connection, category, code: str = "429") -> None:
    """Fix a missing mapping: book the category to the ledger account with `code`."""
    account = next(
        account
        for account in integration_services.connector_for(connection).list_accounts()
        if account.code == code
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=category.pk,
        external_id=account.external_id,
        external_name=f"{account.code} {account.name}",
        extra=integration_services.account_mapping_extra(account),
    )
