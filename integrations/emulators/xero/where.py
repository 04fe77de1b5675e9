"""The subset of Xero's `where` filter language the emulator understands.

Clauses compare a (dotted) field of the JSON object with a literal and are joined by AND / OR
(AND binds tighter), e.g. `Status=="ACTIVE" AND Type=="BANK"`, `Contact.ContactID==Guid("…")`,
`Name.Contains("Ltd")`. String comparisons ignore case, as Xero's do.
"""

import operator
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation


class WhereError(ValueError):
    pass


_COMPARISON = re.compile(
    r"""^(?P<path>[A-Za-z_][\w.]*)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>
        "(?:[^"\\]|\\.)*"            # "string"
        |Guid\("[^"]*"\)             # Guid("uuid")
        |true|false|null
        |-?\d+(?:\.\d+)?             # number
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_METHOD = re.compile(
    r'^(?P<path>[A-Za-z_][\w.]*)\.(?P<method>Contains|StartsWith|EndsWith)\("(?P<arg>[^"]*)"\)$',
    re.IGNORECASE,
)
_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
_JOINERS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR"}

Predicate = Callable[[dict], bool]


def compile_where(text: str) -> Predicate:
    """Turn a `where` string into a predicate over serialised objects; WhereError if unparseable."""
    groups: list[list[Predicate]] = [[]]
    expect_clause = True  # clauses and joiners must alternate, starting and ending with a clause
    for token in _split(text):
        joiner = _JOINERS.get(token.strip().upper())
        if expect_clause == (joiner is not None):
            raise WhereError(f"Unable to parse the where clause '{text}'")
        if joiner == "OR":
            groups.append([])
        elif joiner is None:
            groups[-1].append(_clause(token.strip()))
        expect_clause = not expect_clause
    if expect_clause:
        raise WhereError(f"Unable to parse the where clause '{text}'")
    return lambda obj: any(all(clause(obj) for clause in group) for group in groups)


def _split(text: str) -> list[str]:
    """Split on AND/OR/&&/|| that are outside quotes, keeping the joiners as tokens."""
    tokens, current, in_quotes, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            in_quotes = not in_quotes
        if not in_quotes:
            joiner = _joiner_at(text, i)
            if joiner:
                tokens += ["".join(current), joiner]
                current, i = [], i + len(joiner)
                continue
        current.append(char)
        i += 1
    tokens.append("".join(current))
    return [t for t in tokens if t.strip()]


def _joiner_at(text: str, i: int) -> str | None:
    for symbol in ("&&", "||"):
        if text.startswith(symbol, i):
            return symbol
    for word in ("AND", "OR"):
        end = i + len(word)
        if (
            text[i:end].upper() == word
            and (i == 0 or text[i - 1].isspace())
            and (end == len(text) or text[end].isspace())
        ):
            return text[i:end]
    return None


def _clause(text: str) -> Predicate:
    method = _METHOD.match(text)
    if method:
        path, arg = method.group("path"), method.group("arg").casefold()
        name = method.group("method").lower()
        checks = {
            "contains": lambda v: arg in v,
            "startswith": lambda v: v.startswith(arg),
            "endswith": lambda v: v.endswith(arg),
        }
        check = checks[name]
        return lambda obj: isinstance(_get(obj, path), str) and check(_get(obj, path).casefold())
    comparison = _COMPARISON.match(text)
    if not comparison:
        raise WhereError(f"Unable to parse the where clause '{text}'")
    path, op = comparison.group("path"), comparison.group("op")
    literal = _literal(comparison.group("value"))
    return lambda obj: _compare(_get(obj, path), op, literal)


def _literal(raw: str):
    lowered = raw.lower()
    if raw.startswith('"'):
        return raw[1:-1].replace('\\"', '"')
    if lowered.startswith("guid("):
        return raw[6:-2]
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return Decimal(raw)


def _get(obj, path: str):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        # Field names are case-insensitive in Xero filters.
        obj = next((v for k, v in obj.items() if k.lower() == part.lower()), None)
    return obj


def _compare(actual, op: str, expected) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        actual, expected = actual.casefold(), expected.casefold()
    elif (
        isinstance(expected, Decimal)
        and isinstance(actual, int | float)
        and not isinstance(actual, bool)
    ):
        try:
            actual = Decimal(str(actual))
        except InvalidOperation:
            return False
    try:
        return bool(_OPERATORS[op](actual, expected))
    except TypeError:  # e.g. None < "x"
        return False
