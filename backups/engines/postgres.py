"""PostgreSQL engine: pg_dump -Fc -Z0 in a snapshot shared with the row counts, pg_restore checks.

The connection URL comes from the environment; pg_dump and pg_restore get it as libpq
environment variables (PGPASSWORD among them), never on a command line or in a log. The dump
runs in a snapshot exported by our own REPEATABLE READ transaction (``pg_export_snapshot()``
with ``pg_dump --snapshot``), and that same transaction counts every table's rows, so a restore
can be checked row for row against the manifest.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from .. import conf
from .base import (
    DumpFailed,
    Progress,
    RestoreFailed,
    Sink,
    StderrCollector,
    VerifyFailed,
    child_env,
    describe_status,
    enlarge_pipe,
    error_lines,
    feed,
    kill,
    wait_with_progress,
)

# libpq connection parameters and the environment variables pg_dump/pg_restore read them from.
LIBPQ_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
}
PLAIN_FORMAT = "plain SQL"
PLAIN_END = b"-- PostgreSQL database dump complete"
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def _params(url: str, what: str) -> dict[str, str]:
    try:
        params = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - the message could echo the URL
        raise DumpFailed(f"the {what} connection URL is not valid") from None
    return {k: str(v) for k, v in params.items() if v is not None}


@dataclass
class PostgresEngine:
    url: str = field(repr=False)
    restore_url: str = field(repr=False, default="")
    kind: str = "postgres"

    def __post_init__(self) -> None:
        self.source = _params(self.url, "source")
        self.server = _params(self.restore_url or self.url, "drill server")
        self.secrets = [p["password"] for p in (self.source, self.server) if p.get("password")]

    # Plumbing ---------------------------------------------------------------------------

    @property
    def dbname(self) -> str:
        return self.source.get("dbname") or self.source.get("user") or "postgres"

    def scrub(self, text: str) -> str:
        # Also the URL-quoted form: ``target_url`` puts the password into a URL for migrate --check.
        for secret in self.secrets:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text

    def _env(self, params: dict[str, str], **overrides: str) -> dict[str, str]:
        env = {LIBPQ_ENV[k]: v for k, v in params.items() if k in LIBPQ_ENV}
        env.update(overrides)
        return child_env(env)

    def connect(self, params: dict[str, str], dbname: str | None = None, **kw: Any) -> psycopg.Connection[Any]:
        args = dict(params)
        if dbname:
            args["dbname"] = dbname
        args.setdefault("connect_timeout", "10")
        try:
            return psycopg.connect(**args, **kw)
        except psycopg.Error as exc:
            raise DumpFailed(self.scrub(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}")) from None

    def _tool_version(self, tool: str) -> str:
        try:
            out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30, check=False)
        except OSError as exc:
            return f"unavailable ({exc.strerror})"
        except subprocess.TimeoutExpired:
            return "unavailable (did not answer --version)"
        return out.stdout.strip() or out.stderr.strip()

    def versions(self) -> dict[str, str]:
        versions = {
            "pg_dump": self._tool_version(conf.BACKUP_PG_DUMP.get()),
            "pg_restore": self._tool_version(conf.BACKUP_PG_RESTORE.get()),
        }
        with contextlib.suppress(DumpFailed), self.connect(self.source) as conn:
            versions["server"] = str(conn.execute("SHOW server_version").fetchone()[0])
        return versions

    def expected_size(self) -> int | None:
        with contextlib.suppress(DumpFailed, psycopg.Error), self.connect(self.source) as conn:
            return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        return None

    # Dump -------------------------------------------------------------------------------

    def dump(self, sink: Sink, log: Callable[[str], None], progress: Progress) -> dict[str, Any]:
        conn = self.connect(self.source)
        proc: subprocess.Popen[bytes] | None = None
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])
            tables = [(s, t) for s, t in conn.execute(TABLES_SQL).fetchall()]
            log(f"snapshot {snapshot} exported; {len(tables)} tables to count in it")
            cmd = [
                conf.BACKUP_PG_DUMP.get(),
                "--format=custom",
                "--compress=0",
                f"--snapshot={snapshot}",
                "--no-password",
            ]
            log("running " + " ".join(Path(cmd[0]).name if i == 0 else a for i, a in enumerate(cmd)))
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    env=self._env(self.source),
                    bufsize=0,  # raw reads: take what the pipe holds instead of waiting for a full chunk
                )
            except OSError as exc:
                raise DumpFailed(f"cannot start pg_dump ({cmd[0]}): {exc.strerror}") from None
            assert proc.stdout is not None
            enlarge_pipe(proc.stdout.fileno())
            stderr = StderrCollector(proc.stderr)
            stderr.start()
            counter = _Counter(conn, tables)
            counter.start()

            buf = bytearray(conf.BACKUP_CHUNK_BYTES.get())
            view = memoryview(buf)
            while n := proc.stdout.readinto(buf):
                sink.write(view[:n])
                progress()
            code = wait_with_progress(proc, progress)
            err = self.scrub(stderr.text())
            if code != 0:
                tail = " | ".join(err.splitlines()[-3:]) or "no message"
                raise DumpFailed(f"pg_dump {describe_status(code)}: {tail}"[:480])
            if error_lines(err):
                raise DumpFailed(f"pg_dump reported errors: {' | '.join(error_lines(err)[:3])}"[:480])
            for line in err.splitlines():
                log(f"pg_dump: {line}")
            counts = counter.result()
            log(f"row counts taken in snapshot {snapshot}: {sum(counts.values())} rows in {len(counts)} tables")
            return {"format": "pg_dump custom", "snapshot": snapshot, "database": self.dbname, "tables": counts}
        finally:
            kill(proc)
            with contextlib.suppress(Exception):
                conn.close()

    # Verify -----------------------------------------------------------------------------

    def verify(self, chunks: Iterable[bytes], manifest: dict[str, Any], log: Callable[[str], None]) -> str:
        """Read every block with ``pg_restore -f /dev/null`` (``-l`` passes a cut-off dump).

        A plain SQL dump (adopted from the runbook's old cron job) is read to its end, which must
        be pg_dump's closing "dump complete" comment (a dump that died halfway has none).
        """
        if manifest.get("format") == PLAIN_FORMAT:
            tail = b""
            for chunk in chunks:
                tail = (tail + bytes(chunk))[-4096:]
            if PLAIN_END not in tail:
                raise VerifyFailed("the plain SQL dump does not end with pg_dump's 'dump complete' line (cut off?)")
            return "plain SQL dump read to its 'dump complete' end"
        cmd = [conf.BACKUP_PG_RESTORE.get(), "--file=/dev/null"]
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env({})
            )
        except OSError as exc:
            raise VerifyFailed(f"cannot start pg_restore: {exc.strerror}") from None
        stderr = StderrCollector(proc.stderr)
        stderr.start()
        fed = feed(proc, chunks, lambda: None)
        code = proc.wait()
        err = self.scrub(stderr.text())
        if code != 0 or not fed or error_lines(err):
            tail = " | ".join(err.splitlines()[-3:]) or "no message"
            raise VerifyFailed(f"pg_restore -f /dev/null {describe_status(code)}: {tail}"[:480])
        return "pg_restore read every block"

    # Restore targets --------------------------------------------------------------------

    def own_target_name(self) -> str:
        return self.dbname

    def _admin(self) -> psycopg.Connection[Any]:
        try:
            return self.connect(self.server, autocommit=True)
        except DumpFailed as exc:
            raise RestoreFailed(str(exc)) from None

    def target_exists(self, name: str) -> bool:
        with self._admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    def create_target(self, name: str) -> None:
        if not DB_NAME.match(name):
            raise RestoreFailed(f"{name!r} is not a plain lower-case database name")
        with self._admin() as conn:
            row = conn.execute(
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = %s",
                [self.dbname],
            ).fetchone()
            query = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            if row:
                query = sql.SQL("{} ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                    query, sql.Literal(row[0]), sql.Literal(row[1]), sql.Literal(row[2])
                )
            try:
                conn.execute(query)
            except psycopg.Error as exc:
                raise RestoreFailed(f"cannot create database {name}: {str(exc).strip()}") from None

    def restore(
        self,
        chunks: Iterable[bytes],
        name: str,
        log: Callable[[str], None],
        progress: Progress,
        *,
        clean: bool = False,
        plain: bool = False,
    ) -> None:
        """pg_restore into ``name`` in one transaction; ``clean`` first drops what the dump recreates.

        ``plain``: a plain SQL dump, run by ``psql --single-transaction -v ON_ERROR_STOP=1``.
        """
        if plain:
            if clean:
                raise RestoreFailed("a plain SQL backup restores only into a new database")
            tool = conf.BACKUP_PG_RESTORE.get()
            psql = str(Path(tool).with_name("psql")) if "/" in tool else "psql"
            cmd = [psql, "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--no-password"]
            self._feed_tool(cmd, chunks, name, log, progress, "psql")
            return
        cmd = [
            conf.BACKUP_PG_RESTORE.get(),
            *(["--clean", "--if-exists"] if clean else []),
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-acl",
            "--no-password",
            f"--dbname={name}",
        ]
        self._feed_tool(cmd, chunks, name, log, progress, "pg_restore")

    def _feed_tool(
        self,
        cmd: list[str],
        chunks: Iterable[bytes],
        name: str,
        log: Callable[[str], None],
        progress: Progress,
        tool: str,
    ) -> None:
        log("running " + " ".join([Path(cmd[0]).name, *cmd[1:]]))
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=self._env(self.server, PGDATABASE=name),
            )
        except OSError as exc:
            raise RestoreFailed(f"cannot start {tool}: {exc.strerror}") from None
        assert proc.stdin is not None
        enlarge_pipe(proc.stdin.fileno())
        stderr = StderrCollector(proc.stderr)
        stderr.start()
        fed = feed(proc, chunks, progress)
        code = wait_with_progress(proc, progress)
        err = self.scrub(stderr.text())
        if code != 0 or not fed:
            tail = " | ".join(err.splitlines()[-3:]) or "no message"
            raise RestoreFailed(f"{tool} {describe_status(code)}: {tail}"[:480])
        for line in err.splitlines():
            log(f"{tool}: {line}")

    def count_target(self, name: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        expected: dict[str, int] = manifest.get("tables", {})
        rows = []
        with self.connect(self.server, dbname=name, autocommit=True) as conn:
            present = {f"{s}.{t}" for s, t in conn.execute(TABLES_SQL).fetchall()}
            for table in sorted(set(expected) | present):
                actual = None
                if table in present:
                    schema, _, rel = table.partition(".")
                    query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(rel))
                    actual = int(conn.execute(query).fetchone()[0])
                want = expected.get(table)
                rows.append({"table": table, "expected": want, "actual": actual, "ok": want == actual})
        return rows

    def smoke(self, name: str, queries: list[str]) -> list[dict[str, Any]]:
        results = []
        with self.connect(self.server, dbname=name, autocommit=True) as conn:
            for query in queries:
                results.append(_run_smoke(conn, query))
        return results

    def target_url(self, name: str) -> str:
        """A URL for the scratch database, for ``migrate --check`` in a child process's environment."""
        raw = self.restore_url or self.url
        if "://" in raw:
            parts = urlsplit(raw)
            return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, ""))
        params = dict(self.server, dbname=name)
        user = quote(params.get("user", ""), safe="")
        password = quote(params.get("password", ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        return f"postgres://{auth}{params.get('host', 'localhost')}:{params.get('port', '5432')}/{quote(name)}"

    def migrate_check(self, name: str) -> tuple[bool, str]:
        return run_migrate_check(self.target_url(name), self.scrub)

    def drop_target(self, name: str) -> None:
        if not DB_NAME.match(name):
            raise RestoreFailed(f"{name!r} is not a plain lower-case database name")
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _Counter(threading.Thread):
    """Counts every table's rows in the exporting transaction while pg_dump streams."""

    def __init__(self, conn: psycopg.Connection[Any], tables: list[tuple[str, str]]) -> None:
        super().__init__(name="row-counts", daemon=True)
        self.conn, self.tables = conn, tables
        self.counts: dict[str, int] = {}
        self.error: str | None = None

    def run(self) -> None:
        try:
            for schema, table in self.tables:
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                self.counts[f"{schema}.{table}"] = int(self.conn.execute(query).fetchone()[0])
        except psycopg.Error as exc:
            self.error = str(exc).strip().splitlines()[0]

    def result(self) -> dict[str, int]:
        self.join()
        if self.error:
            raise DumpFailed(f"counting rows in the dump's snapshot failed: {self.error}")
        return self.counts


def _truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "f", "false", "no")
    return True


def _run_smoke(conn: Any, query: str) -> dict[str, Any]:
    """One smoke query in a read-only transaction: passes when its first value is true/non-zero."""
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            row = conn.execute(query).fetchone()
    except psycopg.Error as exc:
        return {"query": query, "ok": False, "value": f"error: {str(exc).strip().splitlines()[0]}"}
    value = None if row is None else row[0]
    return {"query": query, "ok": row is not None and _truthy(value), "value": "no rows" if row is None else str(value)}


def run_migrate_check(database_url: str, scrub: Callable[[str], str]) -> tuple[bool, str]:
    """``manage.py migrate --check`` against another database, in a child process."""
    from django.conf import settings

    manage = Path(settings.BASE_DIR) / "manage.py"
    env = dict(os.environ, DATABASE_URL=database_url)
    env.pop("DATABASE_URL_FILE", None)
    try:
        out = subprocess.run(
            [sys.executable, str(manage), "migrate", "--check", "--no-input"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"could not run migrate --check: {exc}"
    text = scrub((out.stdout + out.stderr).strip())
    lines = [ln for ln in text.splitlines() if " INFO " not in ln]
    if out.returncode == 0:
        return True, "no unapplied migrations"
    return False, " | ".join(lines[-5:])[:480] or f"migrate --check {describe_status(out.returncode)}"
