"""Every write to connections and mappings, and the one place a connector is built.

    ledger       connector_for (the one place a connector is built), connector_for_page (one
                 whose requests take their place in the connection's quota), ledger_transport,
                 base_url_validate, connection_address_error, connection_credentials_save
    oauth        connection_authorization_url, connection_complete_oauth, connection_bind
    lock_dates   connection_lock_date_refresh (the ledger's lock date, read in the quota),
                 connection_locked_period_policy_set, connections_due_for_lock_date
    connections  connection_test, connection_mark_needs_reauth, connection_disable / enable /
                 disconnect, connection_settings_update, connection_spend_accounts_update
    mappings     mapping_set, mapping_set_account (a category to a ledger account),
                 mapping_set_tracking (a department to a tracking option), mappings_save,
                 mappings_auto_map_accounts, account_mapping_extra

Tests reach a ledger emulator by patching integrations.services.ledger.ledger_transport, which
connector_for and the OAuth exchange read there (so it is not re-exported here: patching a copy
would change nothing).
"""

from integrations.services.connections import (
    connection_disable,
    connection_disconnect,
    connection_enable,
    connection_mark_needs_reauth,
    connection_settings_update,
    connection_spend_accounts_update,
    connection_test,
)
from integrations.services.ledger import (
    base_url_validate,
    connection_address_error,
    connection_credentials_save,
    connector_for,
    connector_for_page,
)
from integrations.services.lock_dates import (
    connection_lock_date_refresh,
    connection_lock_date_refresh_quietly,
    connection_locked_period_policy_set,
    connections_due_for_lock_date,
)
from integrations.services.mappings import (
    account_mapping_extra,
    mapping_set,
    mapping_set_account,
    mapping_set_tracking,
    mappings_auto_map_accounts,
    mappings_save,
)
from integrations.services.oauth import (
    LedgerConsent,
    TenantChoiceRequired,
    connection_authorization_url,
    connection_bind,
    connection_complete_oauth,
)

__all__ = [
    "LedgerConsent",
    "TenantChoiceRequired",
    "account_mapping_extra",
    "base_url_validate",
    "connection_address_error",
    "connection_authorization_url",
    "connection_bind",
    "connection_complete_oauth",
    "connection_credentials_save",
    "connection_disable",
    "connection_disconnect",
    "connection_enable",
    "connection_lock_date_refresh",
    "connection_lock_date_refresh_quietly",
    "connection_locked_period_policy_set",
    "connection_mark_needs_reauth",
    "connection_settings_update",
    "connection_spend_accounts_update",
    "connection_test",
    "connector_for",
    "connections_due_for_lock_date",
    "connector_for_page",
    "mapping_set",
    "mapping_set_account",
    "mapping_set_tracking",
    "mappings_auto_map_accounts",
    "mappings_save",
]
