"""Writing a batch's rows in one statement with one parameter: the rows as one JSON text, which
PostgreSQL unpacks (json_to_recordset).

Django's bulk_create compiles every value of every row as an expression, and psycopg then
splits the long statement and quotes each of its hundreds of parameters in Python; one UPDATE
per row (executemany) prepares each value through its field. Per row of a batch that was
~0.3 ms CPU for the attempts and ~0.1 ms for the records' updates; a JSON text costs
microseconds a row, and the server plans one statement instead of fifty."""

import datetime
import functools
from decimal import Decimal

from django.db import connection
from django.db.models import DateField, DateTimeField, Field, Model
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.functional import Promise

from syncsvc.database import IdArray
from syncsvc.serialization import json_text


def insert_rows(objs: list[Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT these new model instances (no primary key yet; it is not read back), as
    bulk_create would without returning ids: defaults and auto_now_add applied (pre_save);
    `ignore_conflicts`: rows a unique constraint refuses are left out (ON CONFLICT DO NOTHING)."""
    if not objs:
        return
    model = type(objs[0])
    fields = _insert_fields(model)
    saved, plain = _insert_values(fields)
    rows = [
        {column: _json_value(obj.__dict__[attname]) for column, attname in plain}
        | {field.column: _json_value(field.pre_save(obj, True)) for field in saved}
        for obj in objs
    ]
    _insert_json(model, rows, ignore_conflicts=ignore_conflicts)


def insert_values(
    model: type[Model], values: list[dict], *, ignore_conflicts: bool = False
) -> None:
    """insert_rows for rows given as {attribute name: value} (`record_id`, not `record`)
    instead of instances: a field left out takes its default, an auto_now or auto_now_add one
    the time now. For the rows a batch writes by the thousand (records and run items of a run,
    attempts): a model instance a row cost more than its share of the INSERT."""
    if not values:
        return
    now = _json_value(timezone.now())
    fields = _value_fields(model)
    # Defaults once a statement (a callable one, e.g. list, gives the same JSON every time).
    defaults = {
        column: now if auto else _json_value(field.get_default())
        for column, _, auto, field in fields
    }
    column_of = {attname: column for column, attname, _, _ in fields}
    rows = []
    for row in values:
        item = defaults.copy()
        for attname, value in row.items():
            item[column_of[attname]] = value if type(value) in _JSON_NATIVE else _json_value(value)
        rows.append(item)
    _insert_json(model, rows, ignore_conflicts=ignore_conflicts)


def _insert_json(model: type[Model], rows: list[dict], *, ignore_conflicts: bool) -> None:
    """INSERT rows given as {column: JSON value} for each of `_insert_fields(model)`."""
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, ignore_conflicts), [json_text(rows)])


@functools.cache
def _insert_fields(model: type[Model]) -> tuple[Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if not (f.primary_key or f.generated))


@functools.cache
def _value_fields(model: type[Model]) -> tuple[tuple[str, str, bool, Field], ...]:
    """(column, attribute, whether its value is the time now, field) of the fields inserted."""
    return tuple(
        (
            field.column,
            field.attname,
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False),
            field,
        )
        for field in _insert_fields(model)
    )


@functools.cache
def _insert_sql(model: type[Model], ignore_conflicts: bool) -> str:
    fields = _insert_fields(model)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "
        f"SELECT {names} FROM json_to_recordset(%s::json) AS rows({_column_types(fields)})"
    )
    return sql + " ON CONFLICT DO NOTHING" if ignore_conflicts else sql


def update_rows(objs: list[Model], field_names: list[str], *, same: dict | None = None) -> None:
    """UPDATE these fields of each instance, by primary key, in one statement (the values the
    instances hold, as save(update_fields=...) would write them). `same`: {field name: value}
    of fields whose value every instance holds alike, sent once instead of in each row (a
    batch's records end with their errors cleared and their claims released: most of a row)."""
    if not objs:
        return
    same = same or {}
    meta = type(objs[0])._meta
    pk = meta.pk
    fields = [meta.get_field(name) for name in field_names if name not in same]
    constants = [meta.get_field(name) for name in same]
    rows = [
        {pk.column: obj.pk}
        | {field.column: _json_value(getattr(obj, field.attname)) for field in fields}
        for obj in objs
    ]
    qn = connection.ops.quote_name
    assignments = [f"{qn(field.column)} = rows.{qn(field.column)}" for field in fields]
    # A constant as JSON too, read as its column's type (the rows' values are).
    assignments += [
        f"{qn(field.column)} = (%s::json ->> 0)::{field.db_type(connection)}" for field in constants
    ]
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {', '.join(assignments)} "
        f"FROM json_to_recordset(%s::json) AS rows({_column_types((pk, *fields))}) "
        f"WHERE {qn(meta.db_table)}.{qn(pk.column)} = rows.{qn(pk.column)} "
        # Without the ids the planner expects 100 rows of the recordset and hash-joins them
        # with a scan of the whole table; with them it reads the rows by primary key.
        f"AND {qn(meta.db_table)}.{qn(pk.column)} = ANY(%s)"
    )
    values = [json_text([_json_value(value)]) for value in same.values()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, json_text(rows), IdArray(obj.pk for obj in objs)])


@functools.cache
def columns(model: type[Model], alias: str) -> str:
    """The select list of `model`'s concrete columns under the table alias `alias`, in the
    order `instances_from_rows` reads them."""
    qn = connection.ops.quote_name
    return ", ".join(f"{alias}.{qn(field.column)}" for field in model._meta.concrete_fields)


def select_instances(model: type[Model], sql: str, params) -> list[Model]:
    """Instances of `model` read by `sql`, which selects `columns(model, alias)`."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return instances_from_rows(model, cursor.fetchall())


def instances_by_id(model: type[Model], ids) -> dict[int, Model]:
    """{id: instance} of `model` for these ids, read as rows (instances_from_rows)."""
    if not ids:
        return {}
    sql = (
        f"SELECT {columns(model, 'item')} FROM {connection.ops.quote_name(model._meta.db_table)}"
        " AS item WHERE item.id = ANY(%s)"
    )
    return {item.pk: item for item in select_instances(model, sql, [IdArray(ids)])}


def instances_from_rows(model: type[Model], rows) -> list[Model]:
    """Instances of `model` from rows of its `columns()`, as a queryset would load them (the
    database's values through each field's converters, the instance saved in this database),
    without Model.__init__: its descriptor for each field, and the queryset's compilation of
    the statement, were most of the CPU of reading a batch's records, documents and lines."""
    attnames, converters = _row_loader(model)
    database = connection.alias
    instances = []
    for row in rows:
        if converters:
            row = list(row)
            for index, functions, expression in converters:
                value = row[index]
                for function in functions:
                    value = function(value, expression, connection)
                row[index] = value
        instance = Model.__new__(model)
        instance.__dict__.update(zip(attnames, row, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = False, database
        instances.append(instance)
    return instances


@functools.cache
def _row_loader(model: type[Model]) -> tuple[tuple[str, ...], list]:
    """The attributes a row's values go to, and the converters of the columns that have any
    (a JSON field's text to its value...), as the SQL compiler would apply them."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression)
        functions += expression.get_db_converters(connection)
        if functions:
            converters.append((index, functions, expression))
    return tuple(field.attname for field in fields), converters


_JSON_NATIVE = frozenset({str, int, bool, float, type(None), dict, list})


@functools.cache
def _insert_values(fields: tuple[Field, ...]) -> tuple[list[Field], list[tuple[str, str]]]:
    """The fields whose value on insert is their pre_save() (auto_now, auto_now_add), and the
    (column, attribute) of the others, whose value a new instance holds as it is: pre_save()
    through each field's descriptor was most of the cost of a row."""
    saved = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved += [f for f in fields if f not in saved and type(f).pre_save not in _PLAIN_PRE_SAVES]
    return saved, [(f.column, f.attname) for f in fields if f not in saved]


# pre_save() that returns the attribute (a date's or a time's when it is neither auto_now nor
# auto_now_add: checked above).
_PLAIN_PRE_SAVES = {Field.pre_save, DateField.pre_save, DateTimeField.pre_save}


@functools.cache
def _column_types(fields: tuple[Field, ...]) -> str:
    """The recordset's column definitions (db_type() renders each field's type: cached)."""
    return ", ".join(
        f"{connection.ops.quote_name(field.column)} {field.db_type(connection)}" for field in fields
    )


def _json_value(value):
    """A field's value as JSON carries it to PostgreSQL's input of the column's type (a JSON
    field's value stays JSON)."""
    if type(value) in _JSON_NATIVE:
        return value
    if isinstance(value, datetime.date):  # datetimes too: ISO 8601, with the offset
        return value.isoformat()
    if isinstance(value, Decimal | Promise):  # a lazy translation: its text
        return str(value)
    if hasattr(value, "resolve_expression"):
        raise TypeError(f"{value!r}: an expression is not a value (use the ORM for it)")
    return value
