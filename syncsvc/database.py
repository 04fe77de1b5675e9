"""The service's PostgreSQL connections: what each one is given when it opens.

Django loads every timestamptz through its own loader (psycopg_any.BaseTzLoader), a subclass of
psycopg's pure-Python one: a regular expression and a datetime built in Python for each value,
then its tzinfo replaced by the connection's. A batch push reads ~8 timestamps a record (the
record's, its document's), and that was ~10% of an unchanged re-sync's worker CPU (issue 13,
figure 2). With USE_TZ and the session in UTC, which Django sets on every connection, psycopg's
own loader (C, from psycopg[binary]) gives the same values: aware datetimes in
datetime.timezone.utc."""

import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import Func, QuerySet, Value
from psycopg import adapters as psycopg_adapters
from psycopg.adapt import Dumper, Loader
from psycopg.postgres import types as postgres_types
from psycopg.pq import Format

TIMESTAMPTZ_OID = postgres_types["timestamptz"].oid
# The default loader of psycopg's global adapters: the C one where psycopg[binary] is installed.
_PSYCOPG_TIMESTAMPTZ_LOADER = psycopg_adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    """psycopg's timestamptz loader, for a session in UTC. `timezone` is what Django's
    create_cursor compares with the connection's before it registers a loader of its own on
    the cursor (it does not: they agree)."""

    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        # The session's TimeZone is read here, from the connection (UTC: see configure_connection).
        self._load = _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data):
        return self._load(data)


class IdArray(list):
    """Ids (ints) passed as one bigint[] parameter: `id = ANY(%s)` with IdArray(ids).

    psycopg dumps a list element by element in Python (each one's dumper looked up, then
    quoted), and a batch push passes its records', documents' and payments' ids in a dozen
    statements: ~5% of its CPU. IdArrayDumper writes the array's text in one join. Where it is
    not registered, an IdArray is dumped as any list is (the same values)."""


class IdArrayDumper(Dumper):
    oid = postgres_types["int8"].array_oid

    def dump(self, obj: IdArray) -> bytes:
        return ("{" + ",".join(map(str, obj)) + "}").encode()


class EqualsAny(Func):
    """`expression = ANY(...)` of a subquery's values (ARRAY(subquery): PostgreSQL reads the
    subquery once, then probes the expression's index for each of its values) or of ids (one
    IdArray parameter: `pk__in` makes a parameter of each id, which Django compiles and psycopg
    quotes one by one: a run's preparation filters chunks of 500 documents)."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = models.BooleanField()

    def __init__(self, expression, values: QuerySet | list[int] | set[int]):
        array = ArraySubquery(values) if isinstance(values, QuerySet) else Value(IdArray(values))
        super().__init__(expression, array)


def configure_connection(sender, connection, **kwargs) -> None:
    """connection_created: a new PostgreSQL connection dumps IdArray with IdArrayDumper, and,
    when Django has set its session to UTC, loads timestamptz with UtcTimestamptzLoader. Any
    other (a database TIME_ZONE of its own, USE_TZ off) keeps Django's loader."""
    if connection.vendor != "postgresql":
        return
    raw = connection.connection
    raw.adapters.register_dumper(IdArray, IdArrayDumper)
    utc = connection.timezone is datetime.UTC and raw.info.parameter_status("TimeZone") == "UTC"
    if utc:
        raw.adapters.register_loader(TIMESTAMPTZ_OID, UtcTimestamptzLoader)
