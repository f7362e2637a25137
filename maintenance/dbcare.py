"""Database care, like PgHero: what a PostgreSQL database needs looking at, read with a timeout.

``inspect(target)`` connects read-only with a statement timeout (``DB_CARE_STATEMENT_TIMEOUT_MS``)
so the page never hangs on a busy database, and returns a ``Report``: slow statements from
``pg_stat_statements`` (mean above ``DB_CARE_SLOW_MS``, the runbook's query) or a note on how to
enable the extension, table and index sizes, dead tuples, last vacuum and analyze, unused and
duplicate indexes, cache hit rates, long-running queries and connections against
``max_connections``. ``vacuum_analyze(target, table)`` runs the runbook's ``VACUUM ANALYZE``.
Connection strings never leave this module: errors are reduced to a first line without them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from maintenance import conf

ENABLE_NOTE = (
    "pg_stat_statements is not available in this database. To enable it: add "
    "shared_preload_libraries = 'pg_stat_statements' to postgresql.conf (or ALTER SYSTEM SET "
    "shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, then run "
    "CREATE EXTENSION pg_stat_statements; in this database."
)
_PASSWORDISH = re.compile(r"(password|passwd|secret|token)(\s*[=:]?\s*)('[^']*'|\"[^\"]*\"|\S+)", re.IGNORECASE)


class CareError(Exception):
    """A database could not be inspected or vacuumed; the message holds no connection string."""


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database to look after: the portal's own or a backup source's."""

    slug: str
    label: str
    conninfo: str = field(repr=False)


@dataclass
class Report:
    target: Target
    server_version: str = ""
    database: str = ""
    size_bytes: int = 0
    statements_available: bool = False
    statements_note: str = ""
    slow_statements: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    indexes: list[dict[str, Any]] = field(default_factory=list)
    unused_indexes: list[dict[str, Any]] = field(default_factory=list)
    duplicate_indexes: list[dict[str, Any]] = field(default_factory=list)
    table_hit_rate: float | None = None
    index_hit_rate: float | None = None
    long_running: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    max_connections: int = 0
    connections_by_state: dict[str, int] = field(default_factory=dict)
    error: str = ""
    took_ms: float = 0.0

    @property
    def connection_ratio(self) -> float | None:
        return self.connections / self.max_connections if self.max_connections else None


def portal_target() -> Target | None:
    """The portal's own database, when it is PostgreSQL."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return None
    parts = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    conninfo = " ".join(f"{k}='{_quote(v)}'" for k, v in parts.items() if v)
    return Target(slug="portal", label="Ops Portal's own database", conninfo=conninfo)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _first_line(exc: BaseException, conninfo: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        password = conninfo_to_dict(conninfo).get("password")
    except Exception:  # noqa: BLE001 - a malformed string: say nothing of it
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text[:300]


@contextmanager
def connect(
    target: Target, *, read_only: bool = True, timeout_ms: int | None = None
) -> Iterator[psycopg.Connection[Any]]:
    """A short-lived autocommit connection; read-only ones get the statement timeout."""
    timeout = conf.DB_CARE_STATEMENT_TIMEOUT_MS.get() if timeout_ms is None else timeout_ms
    options = f"-c statement_timeout={int(timeout)} -c lock_timeout={int(timeout)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        conn = psycopg.connect(
            target.conninfo, autocommit=True, connect_timeout=5, options=options, application_name="ops-portal dbcare"
        )
    except psycopg.Error as exc:
        raise CareError(f"cannot connect: {_first_line(exc, target.conninfo)}") from None
    except Exception as exc:  # noqa: BLE001 - a malformed connection string names its value
        raise CareError(f"cannot connect: the connection string is not valid ({type(exc).__name__})") from None
    try:
        yield conn
    finally:
        conn.close()


def _rows(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[dict[str, Any]]:
    cur = conn.execute(query, params)
    names = [c.name for c in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def mask_query(text: str) -> str:
    """A query as shown: bounded, with anything after 'password'/'secret'/'token' hidden."""
    return _PASSWORDISH.sub(lambda m: f"{m.group(1)}{m.group(2)}'***'", text or "")[:1000]


SLOW_SQL = """
SELECT s.queryid, s.query, s.calls, s.mean_exec_time, s.total_exec_time, s.rows
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.mean_exec_time > %s
ORDER BY s.mean_exec_time DESC
LIMIT 50
"""

TABLES_SQL = """
SELECT s.schemaname AS schema, s.relname AS table, pg_total_relation_size(s.relid) AS total_bytes,
       pg_relation_size(s.relid) AS table_bytes, pg_indexes_size(s.relid) AS index_bytes,
       s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
       GREATEST(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       GREATEST(s.last_analyze, s.last_autoanalyze) AS last_analyze,
       s.seq_scan, s.idx_scan
FROM pg_stat_user_tables s
ORDER BY pg_total_relation_size(s.relid) DESC, s.relname
LIMIT 200
"""

INDEXES_SQL = """
SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index, s.idx_scan AS scans,
       pg_relation_size(s.indexrelid) AS bytes, i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indrelid AS table_oid, i.indkey::text AS columns, i.indclass::text AS opclasses,
       am.amname AS method, (i.indpred IS NOT NULL) AS partial, (i.indexprs IS NOT NULL) AS expression,
       pg_get_indexdef(s.indexrelid) AS definition,
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid) AS backs_constraint
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class ic ON ic.oid = s.indexrelid
JOIN pg_am am ON am.oid = ic.relam
ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname
LIMIT 500
"""

HIT_SQL = """
SELECT (SELECT sum(heap_blks_hit)::float / NULLIF(sum(heap_blks_hit) + sum(heap_blks_read), 0)
          FROM pg_statio_user_tables) AS tables,
       (SELECT sum(idx_blks_hit)::float / NULLIF(sum(idx_blks_hit) + sum(idx_blks_read), 0)
          FROM pg_statio_user_indexes) AS indexes
"""

LONG_SQL = """
SELECT pid, usename AS "user", state, wait_event_type AS waiting_on,
       EXTRACT(EPOCH FROM now() - query_start) AS seconds, query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'
  AND backend_type = 'client backend' AND query_start < now() - make_interval(secs => %s)
ORDER BY query_start
LIMIT 50
"""

CONNECTIONS_SQL = """
SELECT COALESCE(state, 'other') AS state, count(*) AS n
FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC
"""


def duplicate_indexes(indexes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Indexes another index of the same table already covers (PgHero's rule).

    An index is redundant when another btree index on the same table starts with the same
    columns and operator classes, neither is partial or on expressions, and it does not enforce
    uniqueness the other does not (a unique index is only covered by one on the same columns).
    """
    out = []
    for a in indexes:
        if a["method"] != "btree" or a["partial"] or a["expression"] or a["is_primary"]:
            continue
        a_cols, a_ops = a["columns"].split(), a["opclasses"].split()
        for b in indexes:
            if b is a or b["table_oid"] != a["table_oid"] or b["method"] != "btree" or b["partial"] or b["expression"]:
                continue
            b_cols, b_ops = b["columns"].split(), b["opclasses"].split()
            if b_cols[: len(a_cols)] != a_cols or b_ops[: len(a_ops)] != a_ops:
                continue
            if a["is_unique"] and not (b["is_unique"] and b_cols == a_cols):
                continue
            if b_cols == a_cols and (a["backs_constraint"] or (not b["backs_constraint"] and a["index"] < b["index"])):
                continue  # identical pair: report only one of the two, keep the one a constraint uses
            out.append({**a, "covered_by": b["index"], "covered_by_definition": b["definition"]})
            break
    return out


def inspect(target: Target) -> Report:
    """Everything the database care page shows for one database (``error`` set when unreachable)."""
    report = Report(target=target)
    started = time.perf_counter()
    try:
        with connect(target) as conn:
            _fill(conn, report)
    except CareError as exc:
        report.error = str(exc)
    except psycopg.errors.QueryCanceled:
        report.error = f"a query took longer than the {conf.DB_CARE_STATEMENT_TIMEOUT_MS.get()} ms statement timeout"
    except psycopg.Error as exc:
        report.error = f"query failed: {_first_line(exc, target.conninfo)}"
    report.took_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


def _fill(conn: psycopg.Connection[Any], report: Report) -> None:
    head = conn.execute(
        "SELECT current_setting('server_version'), current_database(), pg_database_size(current_database()), "
        "current_setting('max_connections')::int"
    ).fetchone()
    report.server_version, report.database, report.size_bytes, report.max_connections = head
    _statements(conn, report)
    report.tables = _rows(conn, TABLES_SQL)
    report.indexes = _rows(conn, INDEXES_SQL)
    report.unused_indexes = [
        i
        for i in report.indexes
        if i["scans"] == 0 and not i["is_unique"] and not i["is_primary"] and not i["backs_constraint"]
    ]
    report.duplicate_indexes = duplicate_indexes(report.indexes)
    report.table_hit_rate, report.index_hit_rate = conn.execute(HIT_SQL).fetchone()
    report.long_running = [
        {**r, "query": mask_query(r["query"]), "seconds": float(r["seconds"])}
        for r in _rows(conn, LONG_SQL, (conf.DB_CARE_LONG_QUERY_SECONDS.get(),))
    ]
    by_state = {r["state"]: int(r["n"]) for r in _rows(conn, CONNECTIONS_SQL)}
    report.connections_by_state = by_state
    report.connections = sum(by_state.values())


def _statements(conn: psycopg.Connection[Any], report: Report) -> None:
    installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
    if not installed:
        report.statements_note = ENABLE_NOTE
        return
    try:
        rows = _rows(conn, SLOW_SQL, (float(conf.DB_CARE_SLOW_MS.get()),))
    except psycopg.errors.ObjectNotInPrerequisiteState:
        # Created but not preloaded: "pg_stat_statements must be loaded via shared_preload_libraries".
        report.statements_note = ENABLE_NOTE
        return
    except psycopg.errors.InsufficientPrivilege:
        report.statements_note = (
            "pg_stat_statements is installed but this user may not read it (grant pg_read_all_stats)."
        )
        return
    report.statements_available = True
    report.slow_statements = [{**r, "query": mask_query(r["query"])} for r in rows]


def vacuum_analyze(target: Target, table: str = "") -> dict[str, Any]:
    """Run ``VACUUM ANALYZE`` on one table ("schema.table") or the whole database; returns figures."""
    started = time.perf_counter()
    with connect(target, read_only=False, timeout_ms=conf.DB_CARE_VACUUM_TIMEOUT_SECONDS.get() * 1000) as conn:
        try:
            if table:
                schema, _, name = table.rpartition(".")
                found = conn.execute(
                    "SELECT schemaname, relname, n_dead_tup FROM pg_stat_user_tables WHERE relname = %s AND schemaname = %s",
                    (name, schema or "public"),
                ).fetchone()
                if not found:
                    raise CareError(f"no table {table!r} in this database")
                conn.execute(
                    sql.SQL("VACUUM (ANALYZE) {}.{}").format(sql.Identifier(found[0]), sql.Identifier(found[1]))
                )
                dead_before = int(found[2])
            else:
                dead_before = int(
                    conn.execute("SELECT COALESCE(sum(n_dead_tup), 0) FROM pg_stat_user_tables").fetchone()[0]
                )
                conn.execute("VACUUM (ANALYZE)")
        except psycopg.Error as exc:
            raise CareError(f"VACUUM ANALYZE failed: {_first_line(exc, target.conninfo)}") from None
    return {"dead_rows_before": dead_before, "seconds": round(time.perf_counter() - started, 3)}
