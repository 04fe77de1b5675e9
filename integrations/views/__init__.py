"""Integrations settings for admins: connect (OAuth2), test, map, disable, disconnect, reconnect.

base: what the pages share; connect: the list, the consent and its callback; connection: one
connection's page and actions; mappings: the mappings page."""
