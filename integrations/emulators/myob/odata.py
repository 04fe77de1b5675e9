"""The OData v3 subset of MYOB's `$filter` (NOTES.md, "Reading: OData v3"): comparisons of a
field (a link's field as `Supplier/UID`) with a quoted string, number, `guid'...'`, true/false
or null, `startswith` / `endswith` / `substringof`, joined by `and` / `or`, with parentheses."""

import re
from decimal import Decimal

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<guid>guid'[^']*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)
OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "substringof"}


class FilterError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = TOKEN.match(text, position)
        if not match:
            raise FilterError(f"cannot read the filter at {text[position:]!r}")
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal(kind: str, value: str):
    if kind == "string":
        return value[1:-1].replace("''", "'")
    if kind == "guid":
        return value[5:-1].lower()
    if kind == "number":
        return Decimal(value)
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    raise FilterError(f"expected a value, got {value!r}")


def _field(record: dict, path: str):
    value = record
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str) and path.endswith("UID"):
        return value.lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("the filter ends too early")
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise FilterError(f"expected {value!r}")

    def parse(self):
        predicate = self.disjunction()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r}")
        return predicate

    def disjunction(self):
        parts = [self.conjunction()]
        while self.peek() and self.peek()[1] == "or":
            self.take()
            parts.append(self.conjunction())
        return lambda record: any(part(record) for part in parts)

    def conjunction(self):
        parts = [self.term()]
        while self.peek() and self.peek()[1] == "and":
            self.take()
            parts.append(self.term())
        return lambda record: all(part(record) for part in parts)

    def term(self):
        kind, value = self.take()
        if value == "(":
            inner = self.disjunction()
            self.expect(")")
            return inner
        if kind != "word":
            raise FilterError(f"expected a field, got {value!r}")
        if value in FUNCTIONS:
            self.expect("(")
            first, second = self.take(), None
            self.expect(",")
            second = self.take()
            self.expect(")")
            if value == "substringof":  # substringof('text', Field)
                needle, field = _literal(*first), second[1]
                return lambda record: needle in str(_field(record, field) or "")
            field, needle = first[1], _literal(*second)
            if value == "startswith":
                return lambda record: str(_field(record, field) or "").startswith(needle)
            return lambda record: str(_field(record, field) or "").endswith(needle)
        operator = self.take()[1]
        if operator not in OPERATORS:
            raise FilterError(f"unknown operator {operator!r}")
        literal = _literal(*self.take())
        return _comparison(value, operator, literal)


def _comparison(field: str, operator: str, literal):
    def compare(record: dict) -> bool:
        value = _field(record, field)
        if operator == "eq":
            return value == literal
        if operator == "ne":
            return value != literal
        if value is None or literal is None:
            return False
        try:
            return {
                "gt": value > literal,
                "ge": value >= literal,
                "lt": value < literal,
                "le": value <= literal,
            }[operator]
        except TypeError:
            return False

    return compare


def compile_filter(text: str | None):
    """A predicate over records; FilterError for what the subset does not read."""
    if not text or not text.strip():
        return lambda record: True
    return _Parser(text).parse()
