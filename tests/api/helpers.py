"""Shared steps of the API tests: unmapped categories and their fix, runs."""

from integrations import services as integration_services


def map_category_like(connection, category, code: str = "429") -> None:
    """Fix a missing mapping: book the category to the ledger account with `code`."""
    account = next(
        account
        for account in integration_services.connector_for(connection).list_accounts()
        if account.code == code
    )
    integration_services.mapping_set_account(
        connection=connection, category_id=category.pk, account=account
    )
