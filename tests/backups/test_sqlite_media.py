"""SQLite (online backup API) and media (tar stream) sources, to local and S3 destinations."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from backups import runner
from backups.choices import DrillKind, RunState, Trigger
from backups.drills import drill_now
from backups.models import Source
from backups.verify import reverify_policy
from tests.backups.conftest import files_in, s3_state

pytestmark = pytest.mark.django_db


def make_sqlite(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE tags (name TEXT)")
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [(os.urandom(40).hex(),) for _ in range(2500)])
    conn.executemany("INSERT INTO tags VALUES (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()  # WAL content stays in the -wal file until a checkpoint: the backup API must see it
    return {"notes": 2500, "tags": 2}


def make_media(root: Path) -> dict[str, str]:
    (root / "img" / "2026").mkdir(parents=True)
    files = {
        "img/2026/photo.jpg": os.urandom(200_000),
        "img/logo.svg": b"<svg/>" * 100,
        "docs/readme.txt": b"hello\n",
        "empty.bin": b"",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "latest.jpg").symlink_to("img/2026/photo.jpg")
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}


@pytest.mark.parametrize("where", ["local", "s3"])
def test_sqlite_round_trip(where: str, make_policy: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db = tmp_path / "app.sqlite3"
    counts = make_sqlite(db)
    source = Source.objects.create(name="App", slug=f"app-{where}", kind="sqlite", path=str(db))
    dest = request.getfixturevalue("s3_destination") if where == "s3" else None
    policy = make_policy(source=source, destination=dest, smoke_sql="SELECT count(*) = 2 FROM tags")
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    assert run.manifest["tables"] == counts and run.location.endswith(".sqlite3.zst")
    assert "PRAGMA integrity_check ok" in run.steps[2]["detail"]
    if where == "s3":
        assert s3_state(request.getfixturevalue("s3_bucket"))[0] == [f"portal/{run.location}"]

    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error
    assert all(t["ok"] for t in drill.tables) and drill.smoke[0]["ok"]
    assert not any(Path(django_settings.BACKUP_SCRATCH_DIR).iterdir())  # copies and targets removed


def test_sqlite_portal_source_without_migrations_fails_migrate_check(make_policy: Any, tmp_path: Path) -> None:
    db = tmp_path / "half.sqlite3"
    make_sqlite(db)  # a database that is not the portal's schema at all
    source = Source.objects.create(
        name="Not migrated", slug="half", kind="sqlite", path=str(db), is_portal_database=True
    )
    policy = make_policy(source=source)
    assert runner.run_now(policy, trigger=Trigger.COMMAND).state == RunState.GOOD
    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "failed" and drill.error.startswith("migrate --check")
    assert next(s for s in drill.steps if s["name"] == "migrate")["ok"] is False


def test_sqlite_portal_source_after_migrate_passes(make_policy: Any, tmp_path: Path) -> None:
    db = tmp_path / "portal.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}")
    done = subprocess.run(
        [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "migrate", "-v", "0"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-500:]
    source = Source.objects.create(
        name="Portal", slug="portal-sqlite", kind="sqlite", path=str(db), is_portal_database=True
    )
    policy = make_policy(source=source, compression="gzip", compression_level=6)
    assert runner.run_now(policy, trigger=Trigger.COMMAND).state == RunState.GOOD
    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error
    assert "django_migrations" in {t["table"] for t in drill.tables}


@pytest.mark.parametrize("where", ["local", "s3"])
def test_media_round_trip(where: str, make_policy: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    root = tmp_path / "media"
    digests = make_media(root)
    source = Source.objects.create(name="Media", slug=f"media-{where}", kind="media", path=str(root))
    dest = request.getfixturevalue("s3_destination") if where == "s3" else None
    policy = make_policy(source=source, destination=dest, compression="gzip")
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    assert run.manifest["files"] == 4 and run.manifest["file_sha256"] == digests
    assert run.location.endswith(".tar.gz")

    target = "drill_t_media_copy"
    restore = drill_now(policy, trigger=Trigger.MANUAL, kind=DrillKind.RESTORE, target=target)
    assert restore.state == "passed", restore.error
    copy = Path(django_settings.BACKUP_SCRATCH_DIR) / target
    assert {p: hashlib.sha256((copy / p).read_bytes()).hexdigest() for p in digests} == digests
    assert os.readlink(copy / "latest.jpg") == "img/2026/photo.jpg"
    assert [r.ok for r in reverify_policy(policy)] == [True]


def test_media_backup_detects_a_damaged_archive(make_policy: Any, tmp_path: Path) -> None:
    root = tmp_path / "media"
    make_media(root)
    policy = make_policy(source=Source.objects.create(name="M", slug="m", kind="media", path=str(root)))
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    stored = Path(policy.destination.path) / run.location
    stored.write_bytes(stored.read_bytes()[:-200])  # cut off: a short upload or a truncated copy
    assert [r.ok for r in reverify_policy(policy)] == [False]
    run.refresh_from_db()
    assert run.state == RunState.FAILED and files_in(Path(policy.destination.path)) == []
