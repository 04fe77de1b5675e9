"""The shape of a ledger's error catalogue, for the ledgers whose errors carry a code (QuickBooks
Online's Fault `code`, MYOB's error `Name`): each entry names the codes it is for and, where one
code means several things, the words it matches; its error class decides retry and "booked"
handling, and it says what the error means and how to fix it."""

import re
from dataclasses import dataclass

from integrations.connectors.errors import ConnectorError


@dataclass(frozen=True)
class CatalogueEntry:
    codes: frozenset[str]  # the ledger's codes (or names) it is for
    pattern: re.Pattern | None  # on the error's words; None: any words
    error_class: type[ConnectorError]
    explanation: str
    hint: str


def entry(codes, pattern, error_class, explanation: str, hint: str) -> CatalogueEntry:
    compiled = re.compile(pattern, re.IGNORECASE) if pattern else None
    return CatalogueEntry(frozenset(codes), compiled, error_class, explanation, hint)


def look_up(
    catalogue: tuple[CatalogueEntry, ...],
    code: str,
    message: str,
    *,
    default_explanation: str,
    default_hint: str,
) -> tuple[type[ConnectorError] | None, str, str]:
    """(error class or None when unknown, explanation, hint): the first entry for this code whose
    words match, else the defaults (the explanation quoting the ledger's words)."""
    for found in catalogue:
        if code not in found.codes:
            continue
        if found.pattern is not None and not found.pattern.search(message):
            continue
        return found.error_class, found.explanation, found.hint
    return None, default_explanation.format(message=message or code), default_hint
