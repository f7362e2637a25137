"""A dead worker's job is failed within minutes: running jobs beat from a thread; the reaper runs every minute."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from backups.choices import RunState
from backups.dispatch import reap_stale
from backups.models import BackupRun
from tests.backups import helpers
from tests.backups.conftest import open_alert

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_killed_workers_run_is_failed_within_three_minutes(pg_policy: Any, tmp_path: Path) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    wrapper = helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "pause", after_bytes=200_000, flag_dir=flags)
    db = django_settings.DATABASES["default"]
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        BACKUP_PG_DUMP=str(wrapper),
        BACKUP_HEARTBEAT_SECONDS="1",
        BACKUP_SCRATCH_DIR=str(tmp_path / "scratch"),
        SECRET_KEY="test-" + "k" * 60,
    )
    env.pop("DATABASE_URL_FILE", None)
    worker = subprocess.Popen(
        [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "backup", "run", pg_policy.slug],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (flags / "paused").exists() or worker.poll() is not None)
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
        run = BackupRun.objects.get(policy=pg_policy)
        assert run.state == RunState.RUNNING and run.worker
        # pg_dump sends nothing now, yet the row's heartbeat keeps moving: the worker is alive.
        first = run.heartbeat_at
        later = wait_for(
            lambda: (
                BackupRun.objects.get(pk=run.pk).heartbeat_at > first and BackupRun.objects.get(pk=run.pk).heartbeat_at
            )
        )
        assert later > first
        assert reap_stale().runs == []
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker host dies: no finally, no goodbye
        worker.wait(timeout=30)
    killed_at = timezone.now()
    last = BackupRun.objects.get(pk=run.pk).heartbeat_at
    assert BackupRun.objects.get(pk=run.pk).state == RunState.RUNNING
    time.sleep(2)
    assert BackupRun.objects.get(pk=run.pk).heartbeat_at == last  # no more beats

    # The reaper runs every minute; a minute after the death the run is still within its grace.
    assert reap_stale(now=killed_at + dt.timedelta(minutes=1)).runs == []
    result = reap_stale(now=killed_at + dt.timedelta(minutes=3))
    assert result.runs == [run.pk]
    run.refresh_from_db()
    assert run.state == RunState.FAILED and "stopped reporting" in run.error
    assert open_alert(f"backup:failed:{pg_policy.slug}") is not None


def test_the_reaper_is_scheduled_every_minute() -> None:
    from opsportal.schedule import declared

    entry = next(e for e in declared() if e.task == "backups.reap")
    assert entry.every_seconds == 60
