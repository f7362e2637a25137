"""A real Celery worker consumes a task through the real Redis, and through the embedded broker."""

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

from opsportal.models import Heartbeat

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _worker_env(tmp_path: Path, broker: str, backend: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DATA_DIR": str(tmp_path),
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": backend,
        }
    )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(broker: str, backend: str) -> str:
        name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        log = open(tmp_path / f"{name}.log", "wb")  # closed when the worker process ends
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "opsportal",
                "worker",
                "--pool=solo",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=_worker_env(tmp_path, broker, backend),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return name

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _round_trip(sender: Celery, worker: str, tmp_path: Path) -> None:
    payload = uuid.uuid4().hex
    result = sender.send_task("opsportal.ping", args=[payload])
    try:
        answer = result.get(timeout=90)
    except Exception:  # noqa: BLE001 - any failure: show the worker's log
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
        pytest.fail(f"worker did not answer: {logs}")
    assert answer["pong"] == payload
    # The worker recorded its heartbeat and counted the task in the test database.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        hb = Heartbeat.objects.filter(name=f"worker:{worker}").first()
        if hb is not None and hb.tasks_succeeded >= 1:
            break
        time.sleep(0.2)
    assert hb is not None and hb.kind == "worker" and hb.tasks_succeeded >= 1


def test_worker_consumes_through_redis(start_worker: Any, tmp_path: Path) -> None:
    broker, backend = "redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/3"
    worker = start_worker(broker, backend)
    sender = Celery(broker=broker, backend=backend)
    _round_trip(sender, worker, tmp_path)


def test_worker_consumes_through_embedded_filesystem_broker(start_worker: Any, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    backend = f"file://{results}"
    worker = start_worker("filesystem://", backend)
    queue = tmp_path / "broker" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    sender = Celery(broker="filesystem://", backend=backend)
    sender.conf.broker_transport_options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "broker" / "control"),
    }
    _round_trip(sender, worker, tmp_path)
