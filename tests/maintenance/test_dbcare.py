"""Database care against real PostgreSQL: with pg_stat_statements (a private server that preloads
it) slow statements appear after a slow query; without it (the shared server) the page says how
to enable it. Sizes, dead rows, unused and duplicate indexes, hit rates, connections, timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from maintenance import dbcare
from maintenance.dbcare import Target
from tests.maintenance.pg_servers import private_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pgss_server() -> Iterator[str]:
    with private_server() as conninfo:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE DATABASE care")
        yield conninfo.replace("dbname=postgres", "dbname=care")


def _setup_tables(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS posts")
        conn.execute("CREATE TABLE posts (id bigserial PRIMARY KEY, status text, author int, body text)")
        conn.execute("CREATE INDEX idx_posts_status ON posts(status)")
        conn.execute("CREATE INDEX idx_posts_status_author ON posts(status, author)")
        conn.execute("CREATE INDEX idx_posts_author ON posts(author)")
        conn.execute(
            "INSERT INTO posts (status, author, body) SELECT 'draft', g % 10, repeat('x', 50) FROM generate_series(1, 2000) g"
        )
        conn.execute("DELETE FROM posts WHERE id % 2 = 0")
    # Statistics reach the shared counters when a backend flushes them (at exit, asynchronously).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = 'posts'"
            ).fetchone()
            if row == (1000, 1000):
                conn.execute("ANALYZE posts")
                return
        time.sleep(0.2)
    raise AssertionError(f"statistics never settled: {row}")


def test_slow_statements_appear_after_a_slow_query(pgss_server: str, settings: Any) -> None:
    with psycopg.connect(pgss_server, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
    target = Target("care", "care", pgss_server)
    before = dbcare.inspect(target)
    assert before.error == "" and before.statements_available and before.statements_note == ""
    assert not [s for s in before.slow_statements if "pg_sleep" in s["query"]]
    with psycopg.connect(pgss_server) as conn:
        # Constants are normalised ($1): two statements of different shapes, one slow, one fast.
        conn.execute("SELECT pg_sleep(1.05) AS slow")
        conn.execute("SELECT 1 AS fast, pg_sleep(0.01)")
    report = dbcare.inspect(target)
    slow = [s for s in report.slow_statements if "pg_sleep" in s["query"]]
    assert len(slow) == 1  # the 10 ms one is under the runbook's 1,000 ms
    assert slow[0]["mean_exec_time"] >= 1000 and slow[0]["calls"] == 1
    # The threshold is a setting.
    settings.DB_CARE_SLOW_MS = 5
    assert len([s for s in dbcare.inspect(target).slow_statements if "pg_sleep" in s["query"]]) == 2


def test_tables_indexes_dead_rows_duplicates_and_hit_rates(pgss_server: str) -> None:
    _setup_tables(pgss_server)
    report = dbcare.inspect(Target("care", "care", pgss_server))
    assert report.error == ""
    posts = next(t for t in report.tables if t["table"] == "posts")
    assert posts["live_rows"] == 1000 and posts["dead_rows"] == 1000
    assert posts["total_bytes"] > posts["table_bytes"] > 0 and posts["index_bytes"] > 0
    assert posts["last_analyze"] is not None
    unused = {i["index"] for i in report.unused_indexes}
    assert {"idx_posts_status", "idx_posts_status_author", "idx_posts_author"} <= unused
    assert "posts_pkey" not in unused
    duplicates = {(d["index"], d["covered_by"]) for d in report.duplicate_indexes}
    assert duplicates == {("idx_posts_status", "idx_posts_status_author")}
    assert report.table_hit_rate is not None and 0 <= report.table_hit_rate <= 1
    assert report.index_hit_rate is not None and 0 <= report.index_hit_rate <= 1
    assert report.max_connections == 100 and report.connections >= 1
    assert 0 < report.connection_ratio <= 1


def test_long_running_queries_are_listed_and_passwords_masked(pgss_server: str, settings: Any) -> None:
    settings.DB_CARE_LONG_QUERY_SECONDS = 1
    done = threading.Event()

    def sleeper() -> None:
        with psycopg.connect(pgss_server) as conn:
            conn.execute("SELECT pg_sleep(3), 'password' AS note -- password=hunter2hunter2")
        done.set()

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(1.6)
    report = dbcare.inspect(Target("care", "care", pgss_server))
    thread.join()
    running = [r for r in report.long_running if "pg_sleep(3)" in r["query"]]
    assert len(running) == 1 and running[0]["seconds"] >= 1
    assert "hunter2hunter2" not in running[0]["query"]


def test_without_the_extension_the_page_says_how_to_enable_it(db: Any) -> None:
    # The shared server has no shared_preload_libraries: the portal's own database is the case.
    target = dbcare.portal_target()
    assert target is not None
    report = dbcare.inspect(target)
    assert report.error == ""
    assert not report.statements_available and report.slow_statements == []
    assert "shared_preload_libraries" in report.statements_note and "CREATE EXTENSION" in report.statements_note
    assert any(t["table"] == "opsportal_auditrecord" for t in report.tables)


def test_read_only_queries_have_a_statement_timeout(pgss_server: str, settings: Any) -> None:
    settings.DB_CARE_STATEMENT_TIMEOUT_MS = 150
    with dbcare.connect(Target("care", "care", pgss_server)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "150ms"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(2)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (id int)")


def test_an_unreachable_database_is_a_short_error_without_the_password() -> None:
    report = dbcare.inspect(Target("gone", "gone", "host=127.0.0.1 port=9 user=x password=s3cretPassw0rd dbname=x"))
    assert report.error.startswith("cannot connect")
    assert "s3cretPassw0rd" not in report.error


def test_vacuum_analyze_one_table_and_all(pgss_server: str) -> None:
    _setup_tables(pgss_server)
    target = Target("care", "care", pgss_server)
    one = dbcare.vacuum_analyze(target, "public.posts")
    assert one["dead_rows_before"] == 1000
    with psycopg.connect(pgss_server) as conn:
        row = conn.execute("SELECT n_dead_tup, last_vacuum FROM pg_stat_user_tables WHERE relname = 'posts'").fetchone()
    assert row[1] is not None
    assert dbcare.vacuum_analyze(target)["seconds"] >= 0
    with pytest.raises(dbcare.CareError, match="no table"):
        dbcare.vacuum_analyze(target, "public.posts; DROP TABLE posts")
