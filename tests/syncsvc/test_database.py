"""What every PostgreSQL connection is given when it opens (syncsvc/database.py): psycopg's own
timestamptz loader where the session is in UTC, and IdArray's one-join dumper. Both must give
exactly what Django's loader and psycopg's list dumper give."""

import datetime

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.adapt import PyFormat
from psycopg.pq import Format
from psycopg.types.array import ListDumper

from syncsvc.database import (
    TIMESTAMPTZ_OID,
    IdArray,
    IdArrayDumper,
    UtcTimestamptzLoader,
    configure_connection,
)

pytestmark = pytest.mark.django_db

# Instants, as the database writes them, that a loader could get wrong: microseconds, other
# offsets, before the epoch and year 1, a leap second's neighbour, far future.
INSTANTS = [
    "2026-12-06 07:10:20.123456+00",
    "2026-12-06 23:59:59.999999+05:30",
    "2026-03-29 01:30:00-09",
    "1969-12-31 23:59:59.5+00",
    "0001-01-01 00:00:00+00",
    "2016-12-31 23:59:59+00",
    "9999-12-31 23:59:59.999999+00",
    None,
]


def _load(sql: str, params=None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _instants_query() -> str:
    values = ", ".join("(NULL)" if v is None else f"('{v}'::timestamptz)" for v in INSTANTS)
    return f"SELECT t FROM (VALUES {values}) AS v(t)"


def test_every_connection_loads_timestamptz_with_psycopgs_loader_in_utc():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert loader is UtcTimestamptzLoader
    # Django's create_cursor keeps it (it registers its own only when the timezones differ).
    with connection.cursor() as cursor:
        assert cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader


def test_the_utc_loader_gives_what_djangos_gives():
    ours = _load(_instants_query())
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor)  # Django's loader, on this cursor only
        cursor.execute(_instants_query())
        djangos = cursor.fetchall()
    assert ours == djangos
    for (value,), (expected,) in zip(ours, djangos, strict=True):
        if value is not None:
            assert value.tzinfo is expected.tzinfo is datetime.UTC
            assert value.utcoffset() == datetime.timedelta(0)
    # Arrays of timestamptz load their elements with it too.
    (array,) = _load("SELECT ARRAY(" + _instants_query() + ")")[0]
    assert array == [value for (value,) in djangos]


def test_a_session_not_in_utc_keeps_djangos_loader():
    connection.ensure_connection()
    raw = connection.connection
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Australia/Sydney'")
        register_tzloader(datetime.UTC, raw)  # as Django's connection template has it
        configure_connection(sender=None, connection=connection)
        assert raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is not UtcTimestamptzLoader
    finally:
        connection.close()  # the next test opens a connection set up as usual


def test_an_id_array_is_one_bigint_array_parameter():
    with connection.cursor() as cursor:
        sql = cursor.mogrify("SELECT %s", [IdArray([3, 1, 2])])
    assert "'{3,1,2}'::int8[]" in sql
    ids = [5, 9_007_199_254_740_993, 1]
    assert _load("SELECT %s, %s, 9 = ANY(%s)", [IdArray(ids), IdArray([]), IdArray({9})]) == [
        (ids, [], True)
    ]


def test_an_id_array_selects_what_a_list_selects(org, other_org):
    from tests.factories import DocumentFactory

    mine = [DocumentFactory(org=org).pk for _ in range(3)]
    theirs = DocumentFactory(org=other_org).pk
    sql = "SELECT id FROM documents_document WHERE id = ANY(%s) AND org_id = %s ORDER BY id"
    wanted = [*mine, theirs]
    assert _load(sql, [IdArray(wanted), org.pk]) == _load(sql, [wanted, org.pk])
    assert [pk for (pk,) in _load(sql, [IdArray(wanted), org.pk])] == sorted(mine)


def test_without_its_dumper_an_id_array_is_dumped_as_a_list():
    # psycopg's own adapters (no configure_connection) find the list dumper by the class's MRO.
    assert issubclass(psycopg.adapters.get_dumper(IdArray, PyFormat.TEXT), ListDumper)
    connection.ensure_connection()
    assert connection.connection.adapters.get_dumper(IdArray, PyFormat.TEXT) is IdArrayDumper
