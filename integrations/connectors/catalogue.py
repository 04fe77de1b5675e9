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


@dataclass(frozen=True)
class Catalogue:
    """A ledger's catalogue: its entries, and the words for an error none of them is for (the
    explanation quoting the ledger's own words as `{message}`)."""

    entries: tuple[CatalogueEntry, ...]
    default_explanation: str
    default_hint: str

    def explain(self, code: str, message: str = "") -> tuple[type[ConnectorError] | None, str, str]:
        """(error class or None when unknown, explanation, hint): the first entry for this code
        whose words match, else the defaults."""
        for found in self.entries:
            if code not in found.codes:
                continue
            if found.pattern is not None and not found.pattern.search(message):
                continue
            return found.error_class, found.explanation, found.hint
        return None, self.default_explanation.format(message=message or code), self.default_hint
