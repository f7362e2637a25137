"""Test helpers for backups: a source database builder, a pluggable TCP proxy, pg_dump wrappers."""

from __future__ import annotations

import contextlib
import select
import shutil
import socket
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
# Trust authentication ignores the password, so a test can check it never leaks anywhere.
PASSWORD = "pw-S3cret-never-logged-7f3a"
PREFIX = "drill_t_"


def admin_conn() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN, autocommit=True)


def db_url(name: str, password: str = PASSWORD) -> str:
    return f"postgres://postgres:{password}@127.0.0.1:5432/{name}"


def database_exists(name: str) -> bool:
    with admin_conn() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    with admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_source_database(blob_rows: int = 120) -> str:
    """A small shop database: tables in two schemas, keys, a view, a sequence and random blobs."""
    name = f"{PREFIX}src_{uuid.uuid4().hex[:8]}"
    with admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(db_url(name), autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE NOT NULL);
            CREATE TABLE orders (
                id bigserial PRIMARY KEY,
                customer_id int NOT NULL REFERENCES customers(id),
                total numeric(10, 2) NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX orders_customer ON orders(customer_id);
            CREATE SCHEMA audit;
            CREATE TABLE audit.events (id bigserial PRIMARY KEY, kind text, payload jsonb);
            CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
            CREATE TABLE empty_table (id int);
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 500;
            INSERT INTO customers (name, email)
                SELECT 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 200) g;
            INSERT INTO orders (customer_id, total)
                SELECT 1 + (g % 200), round((random() * 1000)::numeric, 2) FROM generate_series(1, 1500) g;
            INSERT INTO audit.events (kind, payload)
                SELECT 'login', jsonb_build_object('n', g, 'ip', '10.0.0.' || (g % 250)) FROM generate_series(1, 300) g;
            """
        )
        # Incompressible rows (random bytes) so the dump is a few MB: part sizes and full disks matter.
        conn.execute(
            """
            INSERT INTO blobs
            SELECT g, (SELECT string_agg(decode(md5(random()::text || g || i), 'hex'), ''::bytea)
                       FROM generate_series(1, 1024) i)
            FROM generate_series(1, %s) g
            """,
            [blob_rows],
        )
    return name


def table_counts(name: str) -> dict[str, int]:
    with psycopg.connect(db_url(name), autocommit=True) as conn:
        out = {}
        for table in ("public.customers", "public.orders", "audit.events", "public.blobs", "public.empty_table"):
            out[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
        return out


class PluggableProxy:
    """A TCP proxy on 127.0.0.1 in front of a server; ``unplug()`` drops every connection at once.

    It stands in for an S3 endpoint that goes away mid-upload: established keep-alive
    connections die with it, which stopping a threaded HTTP server alone would not do.
    """

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self._stopped:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def unplug(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()


def write_pg_dump_wrapper(path: Path, mode: str, *, after_bytes: int, flag_dir: Path | None = None) -> Path:
    """A stand-in for pg_dump that runs the real one and then misbehaves.

    mode "kill": passes ``after_bytes`` bytes through, then SIGKILLs pg_dump and itself.
    mode "truncate-ok": passes ``after_bytes`` bytes, then exits 0, as a shell pipeline would report.
    mode "pause": passes ``after_bytes`` bytes, writes ``flag_dir/paused``, waits for ``flag_dir/go``.
    mode "record": writes its arguments and PG* variable names to ``flag_dir/call.txt``, then passes all.
    """
    real = shutil.which("pg_dump")
    script = f"""\
        #!{sys.executable}
        import os, signal, subprocess, sys, time
        mode, flag, limit = {mode!r}, {str(flag_dir)!r}, {after_bytes}
        if mode == "record" or "--version" in sys.argv:
            if mode == "record":
                with open(os.path.join(flag, "call.txt"), "w") as fh:
                    fh.write(" ".join(sys.argv) + "\\n" + " ".join(sorted(k for k in os.environ if k.startswith("PG"))))
            os.execv({real!r}, [{real!r}, *sys.argv[1:]])
        real = subprocess.Popen([{real!r}, *sys.argv[1:]], stdout=subprocess.PIPE)
        out = sys.stdout.buffer
        sent = 0
        while sent < limit:
            data = real.stdout.read(min(65536, limit - sent))
            if not data:
                break
            out.write(data)
            sent += len(data)
        out.flush()
        if mode == "kill":
            os.kill(real.pid, signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "truncate-ok":
            real.kill()
            sys.exit(0)
        open(os.path.join(flag, "paused"), "w").close()
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(flag, "go")) and time.time() < deadline:
            time.sleep(0.05)
        while data := real.stdout.read(65536):
            out.write(data)
        out.flush()
        sys.exit(real.wait())
        """
    path.write_text(textwrap.dedent(script))
    path.chmod(0o755)
    return path
