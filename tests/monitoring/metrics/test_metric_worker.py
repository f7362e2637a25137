"""A real Celery worker (Redis broker, DB 4) collects this host's metrics on its own timer and runs the alert tasks."""

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
import redis
from celery import Celery
from django.db import connection

from monitoring.alerts.public import raise_alert
from monitoring.models import MetricSeries
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.receiver import Receiver

ROOT = Path(__file__).resolve().parents[3]
BROKER, BACKEND = "redis://127.0.0.1:6379/4", "redis://127.0.0.1:6379/5"
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[str]:
    for url in (BROKER, BACKEND):
        redis.Redis.from_url(url).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_RESULT_BACKEND": BACKEND,
        "METRICS_COLLECT_SECONDS": "1",
        "DISK_PATHS": str(tmp_path),
    }
    name = f"alr-{uuid.uuid4().hex[:8]}@collector-host"
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opsportal", "worker", "--pool=solo", "-n", name,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield name
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        for url in (BROKER, BACKEND):
            redis.Redis.from_url(url).flushdb()


@pytest.mark.usefixtures("runbook_metrics")
def test_worker_collects_host_metrics_and_runs_the_alert_tasks(worker: str, receiver: Receiver, tmp_path: Path) -> None:
    deadline = time.monotonic() + 60
    labels: set[str] = set()
    while time.monotonic() < deadline:
        labels = set(MetricSeries.objects.values_list("label", flat=True))
        if {"host:collector-host", f"host:collector-host:{tmp_path}", "db:default"} <= labels:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"no host metrics from the worker: {labels}\n{(tmp_path / 'worker.log').read_text()[-3000:]}")
    memory = MetricSeries.objects.get(label="host:collector-host")
    assert memory.metric.key == "memory_usage" and 0 < memory.last_value < 100
    # The beat tasks run in the real worker: the notifier pass delivers to the receiver.
    NotificationChannelFactory(name="ops", url=receiver.url())
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    sender = Celery(broker=BROKER, backend=BACKEND)
    tick: Any = sender.send_task("monitoring.alerts_tick").get(timeout=60)
    assert tick["dispatched"] == 1 and tick["sent"] == 1
    receiver.wait_for(1)
    assert receiver.refs() == [(alert.pk, alert.events.get(kind="fired").pk)]
    report: Any = sender.send_task("monitoring.evaluate_metrics").get(timeout=60)
    assert report["series"] >= 3 and report["certificates_alerting"] == 0
