"""The worker's dispatcher loop: a pass with nothing due is one query; due services are probed; a real worker runs it."""

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
from django.db import connection
from django.utils import timezone

from monitoring.models import CheckResult, Service
from monitoring.services import dispatcher as dispatcher_module
from monitoring.services.dispatcher import Dispatcher
from opsportal.models import JobRun
from tests.monitoring.services.factories import ServiceFactory

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_a_pass_with_nothing_due_is_one_query_and_leaves_no_job_row(django_assert_num_queries: Any) -> None:
    ServiceFactory(next_due_at=timezone.now() + dt.timedelta(seconds=30))
    dispatcher = Dispatcher(5)
    with django_assert_num_queries(1):
        assert dispatcher.pass_once() is None
    assert not JobRun.objects.exists()


@pytest.mark.django_db
def test_a_pass_probes_what_is_due_and_records_one_sweep(target: Any) -> None:
    now = timezone.now()
    due = ServiceFactory(url=target.url("/health"), next_due_at=now - dt.timedelta(seconds=1))
    ServiceFactory(url=target.url("/health"), next_due_at=now + dt.timedelta(seconds=30))
    report = Dispatcher(5).pass_once(now)
    assert report is not None and report.probed == 1
    assert list(CheckResult.objects.values_list("service_id", flat=True)) == [due.pk]
    run = JobRun.objects.get()
    assert run.kind == "probe sweep" and run.stats["probed"] == 1


@pytest.mark.django_db
def test_what_a_full_batch_left_behind_is_probed_at_the_next_pass_not_moved_on(target: Any) -> None:
    now = timezone.now()
    ServiceFactory.create_batch(3, url=target.url("/health"), next_due_at=now - dt.timedelta(seconds=2))
    dispatcher = Dispatcher(5, limit=2)
    first = dispatcher.pass_once(now)
    second = dispatcher.pass_once(now + dt.timedelta(seconds=5))
    assert (first.probed, second.probed, second.rescheduled) == (2, 1, 0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_probes_due_services_without_beat(target: Any, tmp_path: Path) -> None:
    service = ServiceFactory(url=target.url("/health"), next_due_at=timezone.now())
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://",
        "DISPATCH_EVERY_SECONDS": "1",
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opsportal", "worker", "--pool=solo", "-n", "dispatch@test",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not CheckResult.objects.filter(service=service).exists():
            time.sleep(0.5)
        assert CheckResult.objects.filter(service=service, ok=True).exists(), log.read_text(errors="replace")[-3000:]
        service.refresh_from_db()
        assert service.next_due_at > timezone.now() and service.claim_token == ""
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert Service.objects.count() == 1


def _fork_during_a_pass(monkeypatch: pytest.MonkeyPatch) -> float:
    """Seconds a fork taken 0.3 s before the end of a pass waited."""
    import threading

    entered, release = threading.Event(), threading.Event()

    def slow_pass(self: Dispatcher, now: Any = None) -> None:
        entered.set()
        release.wait(5)
        time.sleep(0.3)

    monkeypatch.setattr(Dispatcher, "pass_once", slow_pass)
    stopping = threading.Event()
    loop = threading.Thread(target=Dispatcher(60).run, args=(stopping,), daemon=True)
    loop.start()
    assert entered.wait(5)
    release.set()
    began = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: nothing of the test's state is touched
        os._exit(0)
    waited = time.monotonic() - began
    os.waitpid(pid, 0)
    stopping.set()
    loop.join(5)
    return waited


def test_a_fork_waits_for_the_pass_in_progress_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool forks its children beside the loop's thread: never while a pass is inside SQLite."""
    monkeypatch.setattr(dispatcher_module, "_fork_guarded", lambda: True)
    waited = _fork_during_a_pass(monkeypatch)
    assert waited >= 0.25, f"fork went ahead {waited:.3f} s into a pass"


def test_a_fork_does_not_wait_for_a_sweep_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep may last its longest timeout: the worker's main loop must not wait for it to fork."""
    monkeypatch.setattr(dispatcher_module, "_fork_guarded", lambda: False)
    assert _fork_during_a_pass(monkeypatch) < 0.25


def test_passes_come_every_interval_on_average_with_a_drifting_phase() -> None:
    """Two workers' loops must not stay in step (the first to look would take every due service)."""
    import statistics

    from monitoring.services.dispatcher import JITTER

    loop = Dispatcher(5)
    waits = [loop.next_wait(0.5) for _ in range(4000)]
    assert all(5 * (1 - JITTER) - 0.5 <= w <= 5 * (1 + JITTER) - 0.5 for w in waits)
    assert abs(statistics.mean(waits) - 4.5) < 0.05
    assert statistics.pstdev(waits) > 0.5  # not a fixed period
    assert loop.next_wait(30) == 0.0  # a pass longer than the interval: the next one at once
