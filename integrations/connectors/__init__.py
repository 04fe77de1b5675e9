"""Connector registry: one module per ledger, found by the connection's provider name."""

from integrations.connectors.base import Connector

_REGISTRY: dict[str, type[Connector]] = {}


def register(connector_class: type[Connector]) -> type[Connector]:
    _REGISTRY[connector_class.provider] = connector_class
    return connector_class


def connector_class_for(provider: str) -> type[Connector]:
    # Importing the modules registers them; kept here so the registry is complete on first use.
    from integrations.connectors import xero  # noqa: F401

    try:
        return _REGISTRY[provider]
    except KeyError:
        raise LookupError(f"No connector for provider {provider!r}.") from None
