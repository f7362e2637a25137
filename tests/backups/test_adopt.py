"""`backup adopt`: the runbook's old db-YYYYMMDD.sql.gz and .dump files, verified by real restores."""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from backups.choices import RunState, Trigger
from backups.drills import drill_now
from backups.models import BackupRun
from tests.backups import helpers

pytestmark = pytest.mark.django_db


def pg_dump(db: str, *args: str) -> bytes:
    """The real pg_dump, as the old cron job ran it."""
    return subprocess.run(["pg_dump", *args, helpers.db_url(db)], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def dumps(pg_source_name: str) -> dict[str, bytes]:
    plain = pg_dump(pg_source_name, "--format=plain")
    return {"plain": plain, "custom": pg_dump(pg_source_name, "--format=custom")}


@pytest.fixture
def old_folder(tmp_path: Path, dumps: dict[str, bytes]) -> Path:
    folder = tmp_path / "old-cron"
    folder.mkdir()
    (folder / "db-20261128.sql.gz").write_bytes(gzip.compress(dumps["plain"]))
    (folder / "db-20261127.dump").write_bytes(dumps["custom"])
    # pg_dump died halfway but gzip finished the file: the pipeline reported success.
    (folder / "db-20261126.sql.gz").write_bytes(gzip.compress(dumps["plain"][: len(dumps["plain"]) * 2 // 3]))
    (folder / "notes.txt").write_text("not a backup")
    undated = folder / "manual.dump"
    undated.write_bytes(dumps["custom"])
    stamp = timezone.datetime(2026, 11, 20, 14, 30, tzinfo=timezone.get_current_timezone()).timestamp()
    os.utime(undated, (stamp, stamp))
    return folder


def adopt(where: str, policy: Any) -> str:
    out = io.StringIO()
    try:
        call_command("backup", "adopt", where, "--policy", policy.slug, stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue() + f"\nCommandError: {exc}"
    return out.getvalue()


def test_plain_and_custom_dumps_are_verified_and_a_corrupt_one_is_failed(
    pg_policy: Any, pg_source_env: str, old_folder: Path
) -> None:
    out = adopt(str(old_folder), pg_policy)
    assert "CommandError: 1 adopted file failed verification" in out, out
    runs = {Path(r.location).name: r for r in BackupRun.objects.filter(policy=pg_policy)}
    assert sorted(runs) == ["db-20261126.sql.gz", "db-20261127.dump", "db-20261128.sql.gz", "manual.dump"]

    plain, custom, cut = runs["db-20261128.sql.gz"], runs["db-20261127.dump"], runs["db-20261126.sql.gz"]
    expected = helpers.table_counts(pg_source_env)
    for run in (plain, custom, runs["manual.dump"]):
        assert run.state == RunState.GOOD, run.error
        assert run.manifest["tables"] == expected  # counted in the scratch restore
        assert run.sha256 == __import__("hashlib").sha256((old_folder / run.location).read_bytes()).hexdigest()
        assert run.bytes_out == (old_folder / run.location).stat().st_size and run.verified_at
    assert plain.manifest["format"] == "plain SQL" and plain.compression == "gzip"
    assert custom.manifest["format"] == "pg_dump custom" and custom.compression == "none"
    assert plain.bytes_in == len(gzip.decompress((old_folder / plain.location).read_bytes()))
    # Dates: from the name (02:00, the cron time), else the file's modification time.
    local = timezone.localtime
    assert local(plain.started_at).strftime("%Y-%m-%d %H:%M") == "2026-11-28 02:00"
    assert local(runs["manual.dump"].started_at).strftime("%Y-%m-%d %H:%M") == "2026-11-20 14:30"
    # The cut-off one: catalogued, failed, never good, the file left where it was.
    assert cut.state == RunState.FAILED and "failed verification" in cut.error
    assert (old_folder / cut.location).exists()
    assert f"failed   {cut.location}" in out and f"good     {plain.location}" in out
    # No scratch database is left behind.
    for run in runs.values():
        scratch = re.search(r"scratch database (\S+)", run.log)[1]
        assert f"dropped the scratch database {scratch}" in run.log and not helpers.database_exists(scratch)
    # Retention: every good one is kept for a reason (7 daily here), and a second adopt changes nothing.
    assert all(BackupRun.objects.get(pk=r.pk).kept_reasons for r in (plain, custom))
    again = adopt(str(old_folder), pg_policy)
    assert again.count("already in the catalog") == 4 and BackupRun.objects.filter(policy=pg_policy).count() == 4

    # The adopted plain dump is a backup like any other: the monthly drill restores it through psql.
    drill = drill_now(pg_policy, trigger=Trigger.COMMAND)
    assert drill.run_id == plain.pk and drill.state == "passed", drill.error
    assert "running psql" in drill.log


def test_retention_applies_to_adopted_backups(pg_policy: Any, tmp_path: Path, dumps: dict[str, bytes]) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    for day in ("20261130", "20261201"):  # one week (Mon, Tue): keep 1 daily and 1 weekly
        (folder / f"db-{day}.dump").write_bytes(dumps["custom"])
    pg_policy.keep_daily, pg_policy.keep_weekly, pg_policy.keep_monthly = 1, 1, 0
    pg_policy.save()
    out = adopt(str(folder), pg_policy)
    assert "2 adopted as good" in out and "deleted 1" in out, out
    assert sorted(p.name for p in folder.iterdir()) == ["db-20261201.dump"]
    states = dict(BackupRun.objects.filter(policy=pg_policy).values_list("location", "state"))
    assert states == {"db-20261130.dump": RunState.PRUNED, "db-20261201.dump": RunState.GOOD}


def test_adopt_from_an_s3_prefix(pg_policy: Any, s3_destination: Any, s3_bucket: Any, dumps: dict[str, bytes]) -> None:
    pg_policy.destination = s3_destination
    pg_policy.save()
    client = s3_bucket["client"]
    client.put_object(Bucket=s3_bucket["name"], Key="cron/db-20261125.sql.gz", Body=gzip.compress(dumps["plain"]))
    client.put_object(Bucket=s3_bucket["name"], Key="cron/db-20261124.sql.gz", Body=b"\x1f\x8b not really gzip")
    out = adopt(f"s3://{s3_bucket['name']}/cron", pg_policy)
    states = dict(BackupRun.objects.filter(policy=pg_policy).values_list("location", "state"))
    assert states == {"db-20261125.sql.gz": RunState.GOOD, "db-20261124.sql.gz": RunState.FAILED}, out


def test_adopt_refusals_are_messages(pg_policy: Any, tmp_path: Path) -> None:
    assert "is not a directory" in adopt(str(tmp_path / "missing"), pg_policy)
    with pytest.raises(CommandError, match="usage: backup adopt"):
        call_command("backup", "adopt", str(tmp_path), stdout=io.StringIO())
