"""A real Celery worker (embedded filesystem broker, no Redis database taken) runs VACUUM ANALYZE
asked for in the console, records it and audits it; the same message delivered twice runs once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db import connection

from maintenance import vacuum
from opsportal.models import AuditRecord

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _broker_options(data_dir: Path) -> dict[str, Any]:
    broker = data_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (broker / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    data_dir = tmp_path / "worker-data"
    data_dir.mkdir()
    _broker_options(data_dir)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": "filesystem://",
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opsportal", "worker", "--pool=solo", "-n",
             f"vac-{uuid.uuid4().hex[:8]}@localhost", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield data_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_real_worker_runs_the_vacuum_once_and_it_is_recorded_and_audited(
    worker: Path, users: dict[str, Any], tmp_path: Path
) -> None:
    target = vacuum.target_named("portal")
    assert target is not None
    run = vacuum.request_vacuum(target, "public.opsportal_auditrecord", users["admin"])
    sender = Celery(broker="filesystem://", broker_transport_options=_broker_options(worker))
    # Delivered twice (as a redelivery after a lost worker would be): the claim lets one run.
    sender.send_task("maintenance.vacuum", args=[run.pk], task_id=run.task_id)
    sender.send_task("maintenance.vacuum", args=[run.pk], task_id=run.task_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.state in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    else:
        pytest.fail("the worker never ran the vacuum:\n" + (tmp_path / "worker.log").read_text()[-3000:])
    assert run.state == "succeeded", run.error
    assert run.duration_ms is not None and run.dead_rows_before is not None
    time.sleep(2)  # let the second delivery be consumed
    done = AuditRecord.objects.filter(object_type="maintenance.vacuumrun", object_id=str(run.pk), action="action")
    assert done.count() == 1 and "succeeded" in done.get().summary
    log = (tmp_path / "worker.log").read_text()
    assert "maintenance.vacuum" in log and "already claimed" in log
