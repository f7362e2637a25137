"""PostgreSQL backups end to end: real pg_dump into local and S3 destinations, verified, drilled."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import zstandard

from backups import jobs, runner
from backups.choices import RunState, Trigger
from backups.drills import drill_now
from tests.backups import helpers
from tests.backups.conftest import files_in, s3_state

pytestmark = pytest.mark.django_db


def test_local_zstd_backup_is_verified_and_catalogued(pg_policy: Any, pg_source_env: str) -> None:
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)

    assert run.state == RunState.GOOD, run.error
    folder = Path(pg_policy.destination.path)
    assert files_in(folder) == [run.location]  # no temporary file left beside it
    stored = (folder / run.location).read_bytes()
    assert run.bytes_out == len(stored)
    assert run.sha256 == hashlib.sha256(stored).hexdigest()
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(stored)
    assert raw.startswith(b"PGDMP") and len(raw) == run.bytes_in  # pg_dump custom format
    assert run.location.endswith(".dump.zst") and run.location.startswith(f"{pg_policy.slug}/")
    # Row counts were taken in the dump's own snapshot.
    assert run.manifest["tables"] == helpers.table_counts(pg_source_env)
    assert run.manifest["snapshot"]
    assert "pg_dump" in run.tool_versions and run.tool_versions["server"]
    assert [s["name"] for s in run.steps] == ["prepare", "dump", "verify", "prune"]
    assert all(s["ok"] for s in run.steps)
    assert run.verified_at is not None and run.verify_count == 1
    assert run.kept_reasons == ["daily", "weekly", "monthly"]
    assert run.throughput and run.throughput > 0


def test_gzip_backup_round_trips_through_a_drill(pg_source_env: str, make_policy: Any) -> None:
    policy = make_policy(compression="gzip", compression_level=6, smoke_sql="SELECT count(*) FROM audit.events")
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    assert run.location.endswith(".dump.gz")
    assert (Path(policy.destination.path) / run.location).read_bytes()[:2] == b"\x1f\x8b"

    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error
    assert {r["table"] for r in drill.tables} >= {"public.customers", "audit.events", "public.blobs"}
    assert all(r["ok"] and r["expected"] == r["actual"] for r in drill.tables)
    assert drill.smoke == [{"query": "SELECT count(*) FROM audit.events", "ok": True, "value": "300"}]
    assert drill.target_dropped and not helpers.database_exists(drill.target_name)
    assert drill.target_name.startswith(helpers.PREFIX)
    names = [s["name"] for s in drill.steps]
    assert names == ["choose", "target", "create", "restore", "counts", "smoke", "drop"]
    assert all(isinstance(s["seconds"], float) for s in drill.steps)


def test_s3_backup_with_encryption_round_trips(
    pg_source_env: str, make_policy: Any, s3_destination: Any, s3_bucket: Any
) -> None:
    policy = make_policy(destination=s3_destination)
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error

    objects, uploads = s3_state(s3_bucket)
    assert objects == [f"portal/{run.location}"] and uploads == []
    head = s3_bucket["client"].head_object(Bucket=s3_bucket["name"], Key=f"portal/{run.location}")
    assert head["ServerSideEncryption"] == "AES256"
    body = s3_bucket["client"].get_object(Bucket=s3_bucket["name"], Key=f"portal/{run.location}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == run.sha256

    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error


def test_the_password_reaches_pg_dump_only_through_the_environment(
    pg_policy: Any, settings: Any, tmp_path: Path
) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    settings.BACKUP_PG_DUMP = str(
        helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "record", after_bytes=0, flag_dir=flags)
    )
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error

    argv, env_names = (flags / "call.txt").read_text().splitlines()
    assert helpers.PASSWORD not in argv and "postgres://" not in argv
    assert "--snapshot=" in argv and "--format=custom" in argv and "--compress=0" in argv
    assert "PGPASSWORD" in env_names.split()
    run.refresh_from_db()
    for text in (run.log, run.error, str(run.manifest), str(run.steps), str(run.tool_versions)):
        assert helpers.PASSWORD not in text


def test_a_second_run_while_one_is_active_is_refused(pg_policy: Any) -> None:
    first = runner.queue_run(pg_policy, trigger=Trigger.MANUAL)
    with pytest.raises(jobs.AlreadyRunning):
        runner.queue_run(pg_policy, trigger=Trigger.MANUAL)
    assert runner.claim_run(first.pk, task_id="someone-else") is None  # only the stored task may claim
    assert runner.claim_run(first.pk, task_id=first.celery_task_id) is not None
    assert runner.claim_run(first.pk, task_id=first.celery_task_id) is None  # a redelivery does nothing
