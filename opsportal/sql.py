"""Raw SQL on Django's connection with the parameters bound by the server.

Django's psycopg cursors bind on the client: every element of an array parameter is quoted into the
SQL text in Python, which is most of the cost of a bulk statement with arrays of thousands (a sweep's
results and states, a minute's samples, a rollup's service ids). :func:`bound_cursor` is a psycopg
cursor on the same connection (so in the same transaction as the ORM's work) that sends parameters
separately, dumped by psycopg's C code, loads timestamps with psycopg's C loader, and raises Django's
database errors as Django's cursors do.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

# Django turns psycopg's statement preparation off (prepare_threshold=None), and then psycopg
# ignores prepare=True too. A threshold no query reaches prepares only what asks for it.
PREPARE_ONLY_WHEN_ASKED = 2**31 - 1
# Django loads timestamptz with a Python subclass of psycopg's Python loader (to set the tzinfo
# it wants); these cursors take psycopg's C loader, which gives the same instants in the same
# tzinfo (Django's sessions are in UTC): a tenth of the ping writer's Python went to it.
TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
# Connections whose session plans prepared statements generically (the SET was committed).
_GENERIC_PLANS: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()


@contextmanager
def bound_cursor(*, preparing: bool = False) -> Iterator[psycopg.Cursor]:
    """A server-binding cursor on Django's (PostgreSQL) connection. ``preparing``: statements
    executed with ``prepare=True`` are prepared on the server once per connection."""
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        if preparing:
            if raw.prepare_threshold is None:
                raw.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
            if raw not in _GENERIC_PLANS:
                # Left to choose, PostgreSQL keeps re-planning a prepared statement whose custom
                # plans look cheaper than its generic plan: the ping's write of a batch of one was
                # planned on every execution (1.4 ms, most of its cost). The setting concerns only
                # prepared statements, and only what asks for it is prepared. A SET inside a
                # transaction is undone if it rolls back: there it is repeated each time.
                raw.execute("SET plan_cache_mode = force_generic_plan")
                if not connection.in_atomic_block:
                    _GENERIC_PLANS.add(raw)
        with psycopg.Cursor(raw) as cursor:
            cursor.adapters.register_loader(TIMESTAMPTZ_OID, TIMESTAMPTZ_LOADER)
            yield cursor
