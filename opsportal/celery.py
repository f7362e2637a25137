"""The Celery app, the beat scheduler and the heartbeats that /api/health reads.

Beat uses django-celery-beat's DatabaseScheduler (schedules are rows admins edit); our
subclass also records a beat heartbeat. Workers record theirs from a bootstep timer, and
count finished tasks per worker, which /metrics reports.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsportal.settings")

log = logging.getLogger(__name__)

app = Celery("opsportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_EVERY = 15.0


def _beat(kind: str, name: str, **counters: int) -> None:
    """Upsert the heartbeat row for this process; counters are added, not set."""
    from django.db import close_old_connections
    from django.db.models import F
    from django.utils import timezone

    from .models import Heartbeat

    close_old_connections()
    now = timezone.now()
    updates: dict[str, Any] = {"last_seen": now, "pid": os.getpid()}
    for key, inc in counters.items():
        updates[key] = F(key) + inc
    if not Heartbeat.objects.filter(name=name).update(**updates):
        Heartbeat.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": now,
                "last_seen": now,
                **counters,
            },
        )


def worker_name(hostname: str | None = None) -> str:
    return f"worker:{hostname or socket.gethostname()}"


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Records the worker's heartbeat every HEARTBEAT_EVERY seconds from the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: Any) -> None:
        name = worker_name(worker.hostname)
        self._safe_beat(name)
        self.tref = worker.timer.call_repeatedly(HEARTBEAT_EVERY, self._safe_beat, (name,), priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    @staticmethod
    def _safe_beat(name: str) -> None:
        try:
            _beat("worker", name)
        except Exception:
            log.exception("worker heartbeat failed")


app.steps["worker"].add(WorkerHeartbeat)


def _count(outcome: str, sender: Any) -> None:
    hostname = getattr(getattr(sender, "request", None), "hostname", None)
    try:
        _beat("worker", worker_name(hostname), **{f"tasks_{outcome}": 1})
    except Exception:
        log.exception("could not count a finished task")


@signals.task_success.connect
def _on_success(sender: Any = None, **_: Any) -> None:
    _count("succeeded", sender)


@signals.task_failure.connect
def _on_failure(sender: Any = None, **_: Any) -> None:
    _count("failed", sender)


@signals.task_retry.connect
def _on_retry(sender: Any = None, **_: Any) -> None:
    _count("retried", sender)
