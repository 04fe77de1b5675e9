"""The subset of Intuit's query language the adapter uses:

    select * from Bill where DocNumber = 'A-1' and VendorRef = '56'
    select * from Bill where DocNumber in ('A-1', 'A-2') STARTPOSITION 1 MAXRESULTS 100
    select count(*) from Vendor where Active = false
    select * from Account where AccountType = 'Bank' orderby Name

Operators: =, <, >, <=, >=, in, like ('%' wildcards). Conditions join with `and` only (Intuit has
no `or`). Field names are matched case-insensitively; a Ref field compares its `value`; a dotted
name (MetaData.LastUpdatedTime) reaches into an object. MAXRESULTS is at most 1000. Name lists
(Vendor, Account, ...) answer their active entries only unless the query names `Active`
(`where Active in (true, false)` lists all): the API module adds that condition.
"""

import re
from dataclasses import dataclass

MAX_RESULTS = 1000

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)"
    r"|(?P<word>[A-Za-z_][\w.]*)|(?P<number>-?\d+(?:\.\d+)?))",
)


class QueryError(ValueError):
    pass


@dataclass
class Condition:
    field: str
    op: str
    values: list


@dataclass
class Query:
    entity: str
    count: bool
    conditions: list[Condition]
    order_by: list[tuple[str, bool]]  # (field, descending)
    start: int
    max_results: int


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"Error parsing query near '{text[position : position + 20]}'")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("\\'", "'")
        tokens.append((kind, value))
        position = match.end()
    return tokens


def parse(text: str, entities) -> Query:
    tokens = _tokens(text)
    i = 0

    def peek(offset=0):
        return tokens[i + offset] if i + offset < len(tokens) else (None, None)

    def word(expected=None) -> str:
        nonlocal i
        kind, value = peek()
        if kind != "word" or (expected and value.lower() != expected):
            raise QueryError(f"Error parsing query: expected {expected or 'a name'}, got {value}")
        i += 1
        return value

    def take(op) -> None:
        nonlocal i
        if peek() != ("op", op):
            raise QueryError(f"Error parsing query: expected '{op}'")
        i += 1

    def literal():
        nonlocal i
        kind, value = peek()
        if kind not in ("string", "number", "word"):
            raise QueryError("Error parsing query: expected a value")
        i += 1
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value

    word("select")
    count = False
    if peek() == ("op", "*"):
        i += 1
    elif peek()[1] and peek()[1].lower() == "count":
        i += 1
        take("(")
        take("*")
        take(")")
        count = True
    else:
        raise QueryError("Only select * and select count(*) are supported")
    word("from")
    entity_word = word()
    entity = next((e for e in entities if e.lower() == entity_word.lower()), None)
    if entity is None:
        raise QueryError(f"Invalid query: unknown entity {entity_word}")
    conditions, order_by, start, max_results = [], [], 1, 100
    if peek()[1] and peek()[1].lower() == "where":
        i += 1
        while True:
            field = word()
            kind, op = peek()
            if kind == "op" and op in ("=", "<", ">", "<=", ">="):
                i += 1
                conditions.append(Condition(field, op, [literal()]))
            elif kind == "word" and op.lower() in ("in", "like"):
                i += 1
                if op.lower() == "like":
                    conditions.append(Condition(field, "like", [literal()]))
                else:
                    take("(")
                    values = [literal()]
                    while peek() == ("op", ","):
                        i += 1
                        values.append(literal())
                    take(")")
                    conditions.append(Condition(field, "in", values))
            else:
                raise QueryError(f"Error parsing query: unsupported operator {op}")
            if peek()[1] and peek()[1].lower() == "and":
                i += 1
                continue
            break
    while peek()[0] == "word":
        keyword = word().lower()
        if keyword == "orderby" or (keyword == "order" and peek()[1].lower() == "by"):
            if keyword == "order":
                word("by")
            while True:
                field = word()
                descending = False
                if peek()[1] and peek()[1].lower() in ("asc", "desc"):
                    descending = word().lower() == "desc"
                order_by.append((field, descending))
                if peek() != ("op", ","):
                    break
                i += 1
        elif keyword in ("startposition", "maxresults"):
            kind, value = peek()
            if kind != "number":
                raise QueryError(f"{keyword.upper()} takes a number")
            i += 1
            if keyword == "startposition":
                start = max(1, int(value))
            else:
                max_results = int(value)
                if not 1 <= max_results <= MAX_RESULTS:
                    raise QueryError(f"MAXRESULTS must be between 1 and {MAX_RESULTS}")
        else:
            raise QueryError(f"Error parsing query near '{keyword}'")
    if i != len(tokens):
        raise QueryError(f"Error parsing query near '{peek()[1]}'")
    return Query(entity, count, conditions, order_by, start, max_results)


def _field(entity: dict, name: str):
    value = entity
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key else None
    if isinstance(value, dict) and "value" in value:  # a reference compares its id
        return value["value"]
    return value


def _compare(left, right):
    """Numbers as numbers, booleans as booleans, everything else as text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower(), str(right).lower()
    if isinstance(left, int | float):
        try:
            return float(left), float(right)
        except ValueError:
            pass
    return str(left), str(right)


def _matches(entity: dict, condition: Condition) -> bool:
    actual = _field(entity, condition.field)
    if actual is None:
        return False
    if condition.op == "in":
        return any(a == b for a, b in (_compare(actual, v) for v in condition.values))
    if condition.op == "like":
        pattern = re.escape(str(condition.values[0])).replace("%", ".*")
        return re.fullmatch(pattern, str(actual), re.IGNORECASE) is not None
    a, b = _compare(actual, condition.values[0])
    return {
        "=": a == b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[condition.op]


def fields_read(query: Query) -> set[str]:
    """The top-level fields the query's conditions and order read, lower-cased."""
    names = [c.field for c in query.conditions] + [field for field, _ in query.order_by]
    return {name.split(".")[0].lower() for name in names}


def run(query: Query, rows: list[dict], present=None) -> dict:
    """The QueryResponse for these rows; `present` turns a row into what the API answers, and
    is applied to the page only (the rows must already hold every field the query reads)."""
    found = [row for row in rows if all(_matches(row, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(found)}
    for field, descending in reversed(query.order_by):
        found.sort(key=lambda row, f=field: str(_field(row, f) or ""), reverse=descending)
    page = found[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    if present is not None:
        page = [present(row) for row in page]
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
