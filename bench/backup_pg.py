"""Benchmark the portal's PostgreSQL backup and restore drill against the runbook's pipeline.

    .venv/bin/python bench/backup_pg.py [--size-gb 1.5] [--rounds 1] [--keep]

Generates a PostgreSQL database of about ``--size-gb`` (web-event rows: UUIDs, digests, base64
payloads, addresses: realistic and poorly compressible) and one a tenth of that size, then in
the same run times:

- the runbook's ``pg_dump $DATABASE_URL | gzip > file.sql.gz`` (the baseline);
- ``manage.py backup run`` (pg_dump -Fc -Z0 -> zstd -> SHA-256 -> local file, then verification),
  with the peak RSS (VmHWM) of the portal's process, at full size and at a tenth;
- ``manage.py backup drill`` against a bare ``pg_restore`` of the same dump into an empty database.

The portal's catalog is a throwaway SQLite database in a temporary folder; every database the
script creates is dropped at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
BYTES_PER_ROW = 300  # heap + indexes per generated row, measured on PostgreSQL 15

TABLE = """
CREATE TABLE events (
    id bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    user_id integer NOT NULL,
    session_id uuid NOT NULL,
    kind text NOT NULL,
    amount numeric(12, 2),
    ip inet,
    path text,
    user_agent text,
    payload text,
    digest text
);
CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL, plan text);
"""
FILL = """
INSERT INTO events
SELECT g,
       timestamptz '2025-01-01' + g * interval '6 seconds' + random() * interval '5 seconds',
       (random() * 200000)::int,
       gen_random_uuid(),
       (ARRAY['page_view', 'click', 'purchase', 'login', 'logout', 'search', 'api_call'])[1 + (random() * 6)::int],
       round((random() * 500)::numeric, 2),
       ('10.' || (random() * 255)::int || '.' || (random() * 255)::int || '.' || (random() * 255)::int)::inet,
       '/p/' || substr(md5(random()::text), 1, 4 + (random() * 20)::int),
       (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1',
              'curl/8.4.0', 'python-httpx/0.27.0'])[1 + (random() * 3)::int],
       encode(decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex'),
              'base64'),
       md5(g::text)
FROM generate_series(%s::bigint, %s::bigint) g
"""
USERS = """
INSERT INTO users SELECT g, 'user' || g || '@example.com', timestamptz '2024-01-01' + g * interval '2 minutes',
       (ARRAY['free', 'pro', 'team'])[1 + (g % 3)] FROM generate_series(1, 200000) g
"""
INDEXES = """
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE INDEX events_user ON events (user_id);
CHECKPOINT;
"""


def url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def generate(name: str, size_gb: float) -> tuple[float, int]:
    """Create and fill ``name`` with two parallel sessions; returns (seconds, database bytes)."""
    start = time.monotonic()
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    rows = int(size_gb * 1e9 / BYTES_PER_ROW)
    with psycopg.connect(url(name), autocommit=True) as conn:
        conn.execute(TABLE)
        conn.execute(USERS)

    def fill(lo: int, hi: int) -> None:
        with psycopg.connect(url(name), autocommit=True) as conn:
            step = 250_000
            for a in range(lo, hi + 1, step):
                conn.execute(FILL, [a, min(a + step - 1, hi)])

    half = rows // 2
    workers = [threading.Thread(target=fill, args=(1, half)), threading.Thread(target=fill, args=(half + 1, rows))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with psycopg.connect(url(name), autocommit=True) as conn:
        for statement in INDEXES.strip().split(";"):
            if statement.strip():
                conn.execute(statement)
        size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        conn.execute("SELECT count(*) FROM events").fetchone()  # warm the cache for both contenders
    return time.monotonic() - start, size


class Measured:
    """A finished child process: wall seconds, exit code, output and its own peak RSS (VmHWM)."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        start = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.hwm_kb = 0
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        while self.proc.poll() is None:
            self._sample()
            time.sleep(0.02)
        reader.join()
        self.seconds = time.monotonic() - start
        self.code = self.proc.returncode

    def _read(self) -> None:
        self.output = self.proc.stdout.read() if self.proc.stdout else ""

    def _sample(self) -> None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass


def portal_env(work: Path, db_urls: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATA_DIR=str(work / "data"),
        DATABASE_URL=f"sqlite:///{work / 'data' / 'portal.sqlite3'}",
        SECRET_KEY="bench-only-not-a-secret",
        DEBUG="false",
        HTTPS="false",
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="WARNING",
        BACKUP_DRILL_PREFIX="drill_bench_",
        **db_urls,
    )
    return env


SETUP = """
from backups.models import Destination, Policy, Source
dest = Destination.objects.create(name="Bench", slug="bench", kind="local", path={dest!r})
for slug, var in (("full", "BENCH_FULL_URL"), ("tenth", "BENCH_TENTH_URL")):
    src = Source.objects.create(name=slug, slug=slug, kind="postgres", url_env=var)
    Policy.objects.create(name=slug, slug=slug, source=src, destination=dest, timeout_minutes=120)
"""


def manage(env: dict[str, str], *args: str) -> Measured:
    return Measured([PY, str(ROOT / "manage.py"), *args], env=env)


def last_run(work: Path, slug: str) -> dict[str, object]:
    conn = sqlite3.connect(work / "data" / "portal.sqlite3")
    row = conn.execute(
        "SELECT r.id, r.state, r.bytes_in, r.bytes_out, r.location, r.steps, r.error FROM backups_backuprun r "
        "JOIN backups_policy p ON p.id = r.policy_id WHERE p.slug = ? ORDER BY r.id DESC LIMIT 1",
        [slug],
    ).fetchone()
    conn.close()
    steps = {s["name"]: s["seconds"] for s in json.loads(row[5])}
    return {
        "id": row[0],
        "state": row[1],
        "in": row[2],
        "out": row[3],
        "location": row[4],
        "steps": steps,
        "error": row[6],
    }


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the timed pairs; the best of each is reported")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases and files")
    args = parser.parse_args()
    tag = os.getpid()
    full, tenth = f"bench_bak_full_{tag}", f"bench_bak_tenth_{tag}"
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    (work / "data").mkdir()
    (work / "dest").mkdir()
    env = portal_env(work, {"BENCH_FULL_URL": url(full), "BENCH_TENTH_URL": url(tenth)})
    try:
        gen_s, full_size = generate(full, args.size_gb)
        _gen2, tenth_size = generate(tenth, args.size_gb / 10)
        print(f"generated {full}: {mb(full_size)} in {gen_s:.0f} s; {tenth}: {mb(tenth_size)}")
        for step in (
            manage(env, "migrate", "-v", "0"),
            manage(env, "shell", "-c", SETUP.format(dest=str(work / "dest"))),
        ):
            if step.code != 0:
                print(step.output)
                return 1

        runbook_s, portal_s, dump_s, verify_s, rss_full = [], [], [], [], 0
        gz = work / "runbook.sql.gz"
        for _ in range(args.rounds):
            base = Measured(["bash", "-c", f'pg_dump "$BENCH_FULL_URL" | gzip > {gz}'], env=env)
            assert base.code == 0, base.output
            runbook_s.append(base.seconds)
            run = manage(env, "backup", "run", "full")
            assert run.code == 0, run.output
            portal_s.append(run.seconds)
            rss_full = max(rss_full, run.hwm_kb)
            info = last_run(work, "full")
            dump_s.append(float(info["steps"]["dump"]))
            verify_s.append(float(info["steps"]["verify"]))
        gz_size = gz.stat().st_size
        info = last_run(work, "full")
        small = manage(env, "backup", "run", "tenth")
        assert small.code == 0, small.output

        # Restore: the portal's drill vs a bare pg_restore of the same (decompressed) dump.
        dump_file = work / "plain.dump"
        subprocess.run(
            ["zstd", "-d", "-q", "-f", str(work / "dest" / str(info["location"])), "-o", str(dump_file)], check=True
        )
        bare_s, drill_s = [], []
        for _ in range(args.rounds):
            target = f"bench_bak_restore_{tag}"
            admin(f'CREATE DATABASE "{target}" TEMPLATE template0')
            bare = Measured(["pg_restore", "--no-owner", "--no-acl", "-d", url(target), str(dump_file)])
            admin(f'DROP DATABASE "{target}" WITH (FORCE)')
            assert bare.code == 0, bare.output
            bare_s.append(bare.seconds)
            drill = manage(env, "backup", "drill", "full")
            assert drill.code == 0, drill.output
            drill_s.append(drill.seconds)
        rb, po, br, dr = min(runbook_s), min(portal_s), min(bare_s), min(drill_s)
        rows = [
            ("database", f"{mb(full_size)} (tenth: {mb(tenth_size)}), generated in {gen_s:.0f} s"),
            ("runbook pg_dump | gzip", f"{rb:.1f} s, {mb(gz_size)}"),
            (
                "portal backup run (whole command)",
                f"{po:.1f} s = {po / rb:.2f}x the runbook (target <= 0.40x); dump+zstd+store "
                f"{min(dump_s):.1f} s, verify {min(verify_s):.1f} s",
            ),
            ("portal artifact", f"{mb(int(info['out']))} = {int(info['out']) / gz_size:.2f}x the runbook's .sql.gz"),
            ("portal peak RSS, full", f"{rss_full / 1024:.0f} MB (target <= 100 MB)"),
            ("portal peak RSS, tenth", f"{small.hwm_kb / 1024:.0f} MB"),
            ("bare pg_restore", f"{br:.1f} s"),
            ("portal restore drill (whole command)", f"{dr:.1f} s = {dr / br:.2f}x bare pg_restore (target <= 1.3x)"),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        return 0
    finally:
        if not args.keep:
            for name in (full, tenth, f"bench_bak_restore_{tag}"):
                admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
