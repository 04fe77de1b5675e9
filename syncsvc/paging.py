"""The pager of a list too large to count on every page (Sync History, the Documents list).

Up to COUNT_LIMIT matching rows a list is counted (one bounded count) and its pages numbered.
Past it, the list is not counted: its pages go Newest / Newer / Older / Oldest from a cursor (the
sort value and id of a page's edge), each read from the list's index from its cursor, whatever its
depth, and the page says "more than COUNT_LIMIT". Counting a million rows for the pager, and
walking to the offset of its last page, cost most of a page's time (bench/README.md, issue 13
figure 3).
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import DateField, DateTimeField, Expression, F, Q, QuerySet

COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class PageRequest:
    """Which page of such a list a request asks for: its number while the list is counted, or a
    cursor past COUNT_LIMIT (`after` one: older; `before` one: newer; or the `oldest`), from the
    query's page, after, before and oldest (QUERY_NAMES: what a filter's links leave out)."""

    number: str | None = None
    after: str = ""
    before: str = ""
    oldest: bool = False

    QUERY_NAMES = ("page", "after", "before", "oldest")

    @classmethod
    def from_query(cls, query) -> "PageRequest":
        return cls(
            number=query.get("page"),
            after=query.get("after", ""),
            before=query.get("before", ""),
            oldest=query.get("oldest") == "1",
        )


@dataclass(frozen=True)
class NewestFirst:
    """A list's order: a date or moment, newest first, then the id (highest first).

    `name` is how the queryset reads the value (a field, or an annotation of `expression`);
    the cursors' ranges are taken on `expression` itself, the one the list's index is built on,
    so that they bound the index scan."""

    name: str
    expression: Expression
    output_field: DateField | DateTimeField

    @classmethod
    def of_field(cls, name: str, output_field: DateField | DateTimeField) -> "NewestFirst":
        return cls(name, F(name), output_field)

    def compare(self, lookup: str, value) -> Q:
        """The rows whose value is `lookup` (lte, gte, exact) `value`."""
        return Q(self.output_field.get_lookup(lookup)(self.expression, value))

    def cursor(self, value: datetime.date, pk: int) -> str:
        return f"{value.isoformat()}~{pk}"

    def parse(self, cursor: str) -> tuple[datetime.date, int] | None:
        value, _, pk = (cursor or "").rpartition("~")
        try:
            parsed = self.output_field.to_python(value)
            return (parsed, int(pk)) if parsed is not None else None
        except (ValidationError, ValueError):
            return None


@dataclass
class KeysetPage:
    """One page of a list that matches more than COUNT_LIMIT rows: its ids, newest first, and
    the cursors of the pages either side ('' at the newest or oldest end)."""

    object_list: list
    newer: str = ""
    older: str = ""
    more_than: int = COUNT_LIMIT  # the list's limit (bounded_page's count_limit)
    keyset: bool = field(default=True, init=False)

    @property
    def more_than_label(self) -> str:
        return f"{self.more_than:,}"

    def __len__(self) -> int:
        return len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)


def bounded_page(
    rows: QuerySet,
    *,
    order: NewestFirst,
    asked: PageRequest,
    per_page: int,
    count_limit: int | None = None,
) -> Page | KeysetPage:
    """The ids of the page `asked` of `rows` in `order`, in two queries: the count (up to
    COUNT_LIMIT + 1) and the page's ids. `rows` must carry `order.name` (annotated where it is
    an expression).

    Up to COUNT_LIMIT rows: a numbered Page (`asked.number`). More: a KeysetPage, the newest (no
    cursor), the one after a cursor (older), before one (newer) or the oldest; a bad cursor, or
    one past either end, is the newest page. The caller reads the page's rows by their ids.
    `count_limit`, where a list's count costs more per row than COUNT_LIMIT's lists do."""
    limit = COUNT_LIMIT if count_limit is None else count_limit
    # Counted in no order: PostgreSQL stops at the limit in whichever order is cheapest (by id,
    # merging a sync status's records with the documents), not only along the list's index.
    count = rows.order_by().values("pk")[: limit + 1].count()
    newest_first = rows.order_by(f"-{order.name}", "-pk")
    if count <= limit:
        paginator = Paginator(newest_first.values_list("pk", flat=True), per_page)
        paginator.count = count  # a cached_property: the count just read, not another
        page = paginator.get_page(asked.number)
        page.object_list = list(page.object_list)
        return page
    page = _keyset_page(
        rows,
        order,
        per_page,
        after=order.parse(asked.after) if asked.after else None,
        before=order.parse(asked.before) if asked.before else None,
        oldest=asked.oldest,
    )
    page.more_than = limit
    return page


def _keyset_page(rows, order: NewestFirst, per_page: int, *, after, before, oldest) -> KeysetPage:
    """The ids of one page from a cursor, newest first, with the cursors of its neighbours."""
    newest_first = rows.order_by(f"-{order.name}", "-pk").values_list("pk", order.name)
    oldest_first = rows.order_by(order.name, "pk").values_list("pk", order.name)
    if before is not None:
        value, pk = before
        newer = oldest_first.filter(order.compare("gte", value)).exclude(
            order.compare("exact", value) & Q(pk__lte=pk)
        )
        found = list(newer[: per_page + 1])
        has_newer, has_older = len(found) > per_page, True
        found = found[:per_page][::-1]
    elif oldest:
        found = list(oldest_first[:per_page])[::-1]
        has_newer, has_older = True, False
    else:
        if after is not None:
            value, pk = after
            newest_first = newest_first.filter(order.compare("lte", value)).exclude(
                order.compare("exact", value) & Q(pk__gte=pk)
            )
        found = list(newest_first[: per_page + 1])
        has_newer, has_older = after is not None, len(found) > per_page
        found = found[:per_page]
    if not found:  # a cursor past either end: the newest page
        return _keyset_page(rows, order, per_page, after=None, before=None, oldest=False)
    return KeysetPage(
        object_list=[pk for pk, _ in found],
        newer=order.cursor(found[0][1], found[0][0]) if has_newer else "",
        older=order.cursor(found[-1][1], found[-1][0]) if has_older else "",
    )
