"""Connector registry: one class per ledger, named in settings.LEDGER_CONNECTORS (provider →
dotted path), so a ledger is added by configuration and the engine imports none by name."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from integrations.connectors.base import Connector


def connector_class_for(provider: str) -> type[Connector]:
    path = settings.LEDGER_CONNECTORS.get(provider)
    if path is None:
        raise LookupError(f"No connector for provider {provider!r}.")
    return _import(path)


@cache
def _import(path: str) -> type[Connector]:
    return import_string(path)
