"""Real restores: PostgreSQL into a new database, over an existing one, from S3; SQLite and media paths."""

from __future__ import annotations

import io
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from backups import runner
from backups.choices import RestoreMode, RunState, Trigger
from backups.jobs import queue_restore
from backups.models import BackupRun, RestoreRun, Source
from backups.restores import restore_now
from backups.targets import RestoreRefused
from opsportal.models import AuditRecord
from tests.backups import helpers
from tests.backups.test_sqlite_media import make_media, make_sqlite

pytestmark = pytest.mark.django_db

TARGET_ENV = "BAK_T_RESTORE_TARGET_URL"


@pytest.fixture
def good_run(pg_policy: Any) -> BackupRun:
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    return run


@pytest.fixture
def new_db() -> Any:
    """Names of databases a test restores into; dropped afterwards."""
    names: list[str] = []

    def make(label: str) -> str:
        names.append(f"{helpers.PREFIX}r_{label}_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield make
    for name in names:
        helpers.drop_database(name)


def restore(policy: Any, run: BackupRun, mode: str, target: str, **kw: Any) -> RestoreRun:
    return restore_now(policy, run=run, mode=mode, target=target, trigger=Trigger.COMMAND, **kw)


def test_into_a_new_database_is_created_restored_and_checked(good_run: BackupRun, pg_policy: Any, new_db: Any) -> None:
    name = new_db("new")
    job = restore(pg_policy, good_run, RestoreMode.NEW_DATABASE, name)
    assert job.state == "passed", job.error
    assert helpers.table_counts(name) == good_run.manifest["tables"]
    assert [s["name"] for s in job.steps] == ["choose", "target", "create", "restore", "counts", "smoke"]
    assert all(s["ok"] and isinstance(s["seconds"], float) for s in job.steps)
    assert job.tables and all(t["ok"] and t["expected"] == t["actual"] for t in job.tables)
    assert [r["ok"] for r in job.smoke] == [True, True]
    assert helpers.PASSWORD not in job.log
    # A second restore into the same name is refused: it exists now.
    again = restore(pg_policy, good_run, RestoreMode.NEW_DATABASE, name)
    assert again.state == "failed" and "already exists" in again.error
    assert helpers.table_counts(name) == good_run.manifest["tables"]


def test_replacing_an_existing_database(
    good_run: BackupRun, pg_policy: Any, new_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = new_db("live")
    assert restore(pg_policy, good_run, RestoreMode.NEW_DATABASE, name).state == "passed"
    with psycopg.connect(helpers.db_url(name), autocommit=True) as conn:  # the "mistake" to recover from
        conn.execute("DELETE FROM orders WHERE id > 100")
        conn.execute("UPDATE customers SET name = 'oops'")
        conn.execute("CREATE TABLE added_later (id int)")
    assert helpers.table_counts(name)["public.orders"] == 100
    monkeypatch.setenv(TARGET_ENV, helpers.db_url(name))

    # The variable must point at the database that was typed.
    wrong = restore(pg_policy, good_run, RestoreMode.REPLACE, f"{helpers.PREFIX}elsewhere", target_env=TARGET_ENV)
    assert wrong.state == "failed" and f"points at database '{name}'" in wrong.error
    assert helpers.table_counts(name)["public.orders"] == 100  # untouched

    job = restore(pg_policy, good_run, RestoreMode.REPLACE, name, target_env=TARGET_ENV)
    assert job.state == "passed", job.error
    assert helpers.table_counts(name) == good_run.manifest["tables"]
    with psycopg.connect(helpers.db_url(name), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE name = 'oops'").fetchone()[0] == 0
        assert conn.execute("SELECT to_regclass('public.added_later')").fetchone()[0] is not None
    assert "--clean --if-exists --single-transaction" in job.log
    assert "added_later" in job.log  # left alone, and said so
    assert helpers.PASSWORD not in job.log + str(job.steps)


def test_a_failed_replace_rolls_back(
    good_run: BackupRun, pg_policy: Any, new_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = new_db("rollback")
    assert restore(pg_policy, good_run, RestoreMode.NEW_DATABASE, name).state == "passed"
    with psycopg.connect(helpers.db_url(name), autocommit=True) as conn:
        conn.execute("DELETE FROM orders WHERE id > 10")
        # A view the backup does not know depends on a table it recreates: DROP TABLE fails mid-restore.
        conn.execute("CREATE VIEW blocker AS SELECT id FROM customers")
    monkeypatch.setenv(TARGET_ENV, helpers.db_url(name))
    job = restore(pg_policy, good_run, RestoreMode.REPLACE, name, target_env=TARGET_ENV)
    assert job.state == "failed" and "rolled back" in job.error, job.error
    assert helpers.table_counts(name)["public.orders"] == 10  # as it was before


def test_from_s3_streams_into_a_new_database(
    pg_source_env: str, make_policy: Any, s3_destination: Any, new_db: Any, settings: Any
) -> None:
    policy = make_policy(destination=s3_destination, smoke_sql="SELECT count(*) = 200 FROM customers")
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    name = new_db("s3")
    job = restore(policy, run, RestoreMode.NEW_DATABASE, name)
    assert job.state == "passed", job.error
    assert helpers.table_counts(name) == run.manifest["tables"]
    assert job.smoke == [{"query": "SELECT count(*) = 200 FROM customers", "ok": True, "value": "True"}]
    scratch = Path(settings.BACKUP_SCRATCH_DIR)
    assert not scratch.exists() or not any(scratch.iterdir())  # nothing staged on local disk


def test_the_portals_own_database_is_refused(
    good_run: BackupRun, pg_policy: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    own = settings.DATABASES["default"]["NAME"]
    with pytest.raises(RestoreRefused, match="portal's own database"):
        queue_restore(pg_policy, run=good_run, mode=RestoreMode.NEW_DATABASE, target=own, trigger=Trigger.MANUAL)
    # Replacing through a variable that points at it: the worker refuses before touching anything.
    monkeypatch.setenv(TARGET_ENV, helpers.db_url(own))
    job = restore(pg_policy, good_run, RestoreMode.REPLACE, own.replace("test_", "x_"), target_env=TARGET_ENV)
    assert job.state == "failed" and "points at database" in job.error
    # The console says so, with the way to do it instead, and queues nothing.
    url = reverse("backups:restore_to", args=[good_run.pk])
    response = client_for("admin").post(url, {"mode": "new", "target": own, "confirm": own})
    page = response.content.decode()
    assert response.status_code == 200 and "the portal&#x27;s own database" in page and "README" in page
    assert RestoreRun.objects.filter(target=own).count() == 0
    with pytest.raises(CommandError, match="portal's own database"):
        call_command("backup", "restore", pg_policy.slug, "--target", own, "--confirm", own, stdout=io.StringIO())


def test_the_portal_database_behind_a_variable_is_refused(
    good_run: BackupRun, pg_policy: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    own = settings.DATABASES["default"]["NAME"]
    monkeypatch.setenv(TARGET_ENV, helpers.db_url(own))
    RestoreRun.objects.all().delete()
    job = queue_restore(
        pg_policy,
        run=good_run,
        mode=RestoreMode.REPLACE,
        target="innocent_name",
        target_env=TARGET_ENV,
        trigger=Trigger.MANUAL,
    )
    # Typed name differs: refused. With the right name, the check against the portal refuses.
    RestoreRun.objects.filter(pk=job.pk).update(target=own)
    from backups.jobs import claim_restore
    from backups.restores import execute_restore

    done = execute_restore(claim_restore(job.pk))
    assert done.state == "failed" and "portal's own database" in done.error
    assert "backups_policy" in {r[0] for r in _tables(own)}  # still there


def _tables(db: str) -> list[tuple[str]]:
    with psycopg.connect(helpers.db_url(db), autocommit=True) as conn:
        return conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()


def test_unverified_backup_is_refused_unless_forced(
    good_run: BackupRun, pg_policy: Any, new_db: Any, client_for: Any, users: dict[str, Any]
) -> None:
    BackupRun.objects.filter(pk=good_run.pk).update(state=RunState.FAILED, error="re-verification failed: test")
    good_run.refresh_from_db()
    name = new_db("forced")
    with pytest.raises(RestoreRefused, match="not verified good"):
        queue_restore(pg_policy, run=good_run, mode=RestoreMode.NEW_DATABASE, target=name, trigger=Trigger.MANUAL)
    url = reverse("backups:restore_to", args=[good_run.pk])
    client = client_for("admin")
    page = client.get(url).content.decode()
    assert "Restore anyway" in page and "not verified good" in page
    refused = client.post(url, {"mode": "new", "target": name, "confirm": name})
    assert refused.status_code == 200 and "tick &#x27;restore anyway&#x27;" in refused.content.decode()
    assert not RestoreRun.objects.exists()
    forced = client.post(url, {"mode": "new", "target": name, "confirm": name, "restore_anyway": "on"})
    job = RestoreRun.objects.get()
    assert forced.status_code == 302 and forced["Location"] == job.get_absolute_url() and job.forced
    record = AuditRecord.objects.get(object_type="backups.restorerun", action="action")
    assert "restore anyway" in record.summary and record.actor_name == users["admin"].get_username()
    assert AuditRecord.objects.filter(object_type="backups.restorerun", action="create").count() == 1
    from backups.jobs import claim_restore
    from backups.restores import execute_restore

    done = execute_restore(claim_restore(job.pk))
    assert done.state == "passed", done.error
    assert "restored anyway" in done.steps[0]["detail"]


def test_the_console_needs_the_name_typed_twice(good_run: BackupRun, client_for: Any) -> None:
    url = reverse("backups:restore_to", args=[good_run.pk])
    client = client_for("admin")
    for data, message in (
        ({"mode": "new", "target": "drill_t_a", "confirm": "drill_t_b"}, "The two differ"),
        ({"mode": "new", "target": "Bad Name", "confirm": "Bad Name"}, "lower-case letters"),
        ({"mode": "replace", "target": "shop", "confirm": "shop", "target_env": "db-url"}, "Name the environment"),
        ({"mode": "path", "target": "/tmp/x", "confirm": "/tmp/x"}, "Select a valid choice"),
    ):
        response = client.post(url, data)
        assert response.status_code == 200 and message in response.content.decode(), message
    assert not RestoreRun.objects.exists()
    assert client_for("viewer").get(url).status_code == 403


def test_sqlite_into_a_path_moves_the_existing_file_aside(make_policy: Any, tmp_path: Path, client_for: Any) -> None:
    db = tmp_path / "app.sqlite3"
    counts = make_sqlite(db)
    source = Source.objects.create(name="App", slug="app", kind="sqlite", path=str(db))
    policy = make_policy(source=source, smoke_sql="SELECT count(*) = 2 FROM tags")
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    target = tmp_path / "restored" / "app.sqlite3"
    target.parent.mkdir()
    target.write_bytes(b"the old file, kept")
    job = restore(policy, run, RestoreMode.PATH, str(target))
    assert job.state == "passed", job.error
    assert [s["name"] for s in job.steps] == ["choose", "target", "restore", "counts", "smoke", "swap"]
    conn = sqlite3.connect(target)
    assert {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts} == counts  # noqa: S608
    conn.close()
    assert job.moved_aside and Path(job.moved_aside).read_bytes() == b"the old file, kept"
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, Path(job.moved_aside).name])
    page = client_for("viewer").get(job.get_absolute_url()).content.decode()
    assert job.moved_aside in page and "moved aside and kept" in page


def test_media_into_a_path_moves_the_existing_folder_aside(make_policy: Any, tmp_path: Path) -> None:
    root = tmp_path / "media"
    digests = make_media(root)
    source = Source.objects.create(name="Media", slug="media", kind="media", path=str(root))
    policy = make_policy(source=source)
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    (root / "docs" / "readme.txt").write_text("changed after the backup")
    job = restore(policy, run, RestoreMode.PATH, str(root))  # back over the live folder
    assert job.state == "passed", job.error
    import hashlib

    assert {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in digests} == digests
    assert (root / "latest.jpg").is_symlink()
    assert (Path(job.moved_aside) / "docs" / "readme.txt").read_text() == "changed after the backup"


def test_command_restores_into_a_new_database(good_run: BackupRun, pg_policy: Any, new_db: Any) -> None:
    name = new_db("cli")
    out = io.StringIO()
    call_command("backup", "restore", pg_policy.slug, "--target", name, "--confirm", name, stdout=out, no_color=True)
    assert f"into {name} done" in out.getvalue() and "Compare row counts" in out.getvalue()
    assert helpers.table_counts(name) == good_run.manifest["tables"]
    with pytest.raises(CommandError, match="--confirm"):
        call_command("backup", "restore", pg_policy.slug, "--target", name, stdout=io.StringIO())
