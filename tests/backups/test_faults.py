"""Real faults: each ends with a failed run, no artifact left and an alert."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from backups import jobs, runner
from backups.choices import RunState, Trigger
from backups.dispatch import reap_stale, retry_cleanups
from backups.models import BackupRun
from backups.verify import reverify_policy
from tests.backups import helpers
from tests.backups.conftest import files_in, open_alert, s3_state

pytestmark = pytest.mark.django_db


def assert_failed_cleanly(run: BackupRun, folder: Path | None, alert_key: str) -> Any:
    run.refresh_from_db()
    assert run.state == RunState.FAILED
    assert run.error
    if folder is not None:
        assert files_in(folder) == []
    alert = open_alert(alert_key)
    assert alert is not None and alert.source == "backups" and alert.severity == "critical"
    assert str(run.pk) in str(alert.details.get("run"))
    return alert


def test_pg_dump_killed_halfway(pg_policy: Any, settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_PG_DUMP = str(helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "kill", after_bytes=600_000))
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)

    alert = assert_failed_cleanly(run, Path(pg_policy.destination.path), f"backup:failed:{pg_policy.slug}")
    assert "pg_dump was killed by SIGKILL" in run.error
    assert run.bytes_out == 0 and run.sha256 == ""
    assert "pg_dump was killed" in alert.summary
    dump_step = next(s for s in run.steps if s["name"] == "dump")
    assert dump_step["ok"] is False


def test_a_cut_off_dump_reported_as_success_is_caught_by_verification(
    pg_policy: Any, settings: Any, tmp_path: Path
) -> None:
    # The runbook's `pg_dump | gzip` case: the dump stops early, yet the status says success.
    settings.BACKUP_PG_DUMP = str(
        helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "truncate-ok", after_bytes=900_000)
    )
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)

    assert_failed_cleanly(run, Path(pg_policy.destination.path), f"backup:failed:{pg_policy.slug}")
    assert "pg_restore -f /dev/null" in run.error
    assert [s["name"] for s in run.steps] == ["prepare", "dump", "verify"]
    assert run.steps[1]["ok"] is True and run.steps[2]["ok"] is False


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Any:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a 1 MiB tmpfs (the test runs as root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_destination_out_of_space(pg_source_env: str, make_policy: Any, tiny_filesystem: Path) -> None:
    from backups.models import Destination

    dest = Destination.objects.create(name="Tiny disk", slug="tiny", kind="local", path=str(tiny_filesystem))
    policy = make_policy(destination=dest)
    run = runner.run_now(policy, trigger=Trigger.COMMAND)

    assert_failed_cleanly(run, tiny_filesystem, f"backup:failed:{policy.slug}")
    assert "No space left on device" in run.error
    assert run.cleanup == {}


def test_s3_endpoint_stopped_mid_upload(
    pg_source_env: str, make_policy: Any, s3_destination: Any, s3_bucket: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    moto_host_port = s3_bucket["endpoint"].removeprefix("http://").split(":")
    proxy = helpers.PluggableProxy((moto_host_port[0], int(moto_host_port[1])))
    s3_destination.endpoint_url = proxy.url
    s3_destination.save()
    settings.BACKUP_S3_MIN_PART_BYTES = 256 * 1024
    settings.BACKUP_ZSTD_THREADS = 0  # zstd's worker threads hold a whole job back; emit output as it comes
    flags = tmp_path / "flags"
    flags.mkdir()
    settings.BACKUP_PG_DUMP = str(
        helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "pause", after_bytes=1_500_000, flag_dir=flags)
    )
    policy = make_policy(destination=s3_destination)
    client, bucket = s3_bucket["client"], s3_bucket["name"]

    reached: list[bool] = []

    def pull_the_plug() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not reached:
            uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            if (flags / "paused").exists() and uploads:
                parts = client.list_parts(Bucket=bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"])
                if parts.get("Parts"):
                    reached.append(True)
            time.sleep(0.05)
        proxy.unplug()
        (flags / "go").touch()

    helper = threading.Thread(target=pull_the_plug, daemon=True)
    helper.start()
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    helper.join(timeout=60)
    assert reached, "the upload never had a part stored before the endpoint went away"

    assert_failed_cleanly(run, None, f"backup:failed:{policy.slug}")
    assert run.error.startswith("S3 upload of part failed: endpoint unreachable")
    assert "could not abort the S3 upload" in run.error
    objects, uploads = s3_state(s3_bucket)
    assert objects == []
    # The abort could not reach the endpoint either: the upload is remembered for the reaper...
    assert run.cleanup.get("upload_id") and uploads == [run.cleanup["partial"]]
    # ...which aborts it once the endpoint is back.
    revived = helpers.PluggableProxy(proxy.target, port=proxy.port)
    try:
        assert retry_cleanups() == [run.pk]
    finally:
        revived.unplug()
    assert s3_state(s3_bucket) == ([], [])
    run.refresh_from_db()
    assert run.cleanup == {}


def test_flipped_byte_found_by_reverification(pg_policy: Any) -> None:
    good = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert good.state == RunState.GOOD, good.error
    path = Path(pg_policy.destination.path) / good.location
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    results = reverify_policy(pg_policy)
    assert [r.ok for r in results] == [False]
    assert_failed_cleanly(good, Path(pg_policy.destination.path), f"backup:verify:{pg_policy.slug}")
    assert good.error.startswith("re-verification failed")

    # The next good backup and a clean re-verification resolve both alerts.
    again = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert again.state == RunState.GOOD
    assert [r.ok for r in reverify_policy(pg_policy)] == [True]
    assert open_alert(f"backup:verify:{pg_policy.slug}") is None


def test_failed_run_alert_resolves_on_next_good_run(pg_policy: Any, settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_PG_DUMP = str(helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "kill", after_bytes=1000))
    failed = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert failed.state == RunState.FAILED
    assert open_alert(f"backup:failed:{pg_policy.slug}") is not None
    settings.BACKUP_PG_DUMP = None
    good = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert good.state == RunState.GOOD
    assert open_alert(f"backup:failed:{pg_policy.slug}") is None


def test_reaper_fails_a_run_whose_worker_died(pg_policy: Any) -> None:
    run = runner.queue_run(pg_policy, trigger=Trigger.SCHEDULE)
    assert runner.claim_run(run.pk) is not None
    # The worker died mid-dump: a temporary file is left and the heartbeat stopped.
    folder = Path(pg_policy.destination.path)
    partial = folder / pg_policy.slug / ".x.dump.zst.partial-abc"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a dump")
    old = timezone.now() - dt.timedelta(hours=1)
    BackupRun.objects.filter(pk=run.pk).update(heartbeat_at=old, cleanup={"partial": str(partial.relative_to(folder))})

    result = reap_stale()
    assert result.runs == [run.pk] and result.cleaned == [run.pk]
    assert_failed_cleanly(run, folder, f"backup:failed:{pg_policy.slug}")
    assert "stopped reporting" in run.error
    # A fresh run is possible again.
    with contextlib.suppress(jobs.AlreadyRunning):
        assert runner.queue_run(pg_policy, trigger=Trigger.SCHEDULE).state == RunState.QUEUED


def test_scrub_hides_the_password_also_in_url_quoted_form() -> None:
    from backups.engines.postgres import PostgresEngine

    password = "p@ss/w:rd%"
    engine = PostgresEngine(url=f"host=127.0.0.1 user=shop dbname=shop password='{password}'")
    url = engine.target_url("drill_scratch")  # the URL migrate --check gets
    assert password not in url and "p%40ss" in url
    text = engine.scrub(f"could not connect with {url} (password {password})")
    assert "p%40ss" not in text and password not in text and text.count("***") == 2
