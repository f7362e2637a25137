"""Records scheduled work as JobRun rows: state, timings, figures and errors the console shows."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .models import JobRun, JobTally

log = logging.getLogger(__name__)


@dataclass
class JobRecorder:
    """Handed to the job's body: set ``stats`` (figures) and ``summary`` (one line) as it goes."""

    run: JobRun
    stats: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def count_run(kind: str, duration_ms: float = 0.0, *, failed: bool = False, idle: bool = False) -> None:
    """Add one run of ``kind`` to this hour's tally (an upsert: safe with several workers)."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    changes = {
        "runs": F("runs") + 1,
        "idle": F("idle") + int(idle),
        "failed": F("failed") + int(failed),
        "total_ms": F("total_ms") + float(duration_ms),
    }
    if JobTally.objects.filter(kind=kind, hour=hour).update(**changes):
        return
    _tally, created = JobTally.objects.get_or_create(
        kind=kind,
        hour=hour,
        defaults={"runs": 1, "idle": int(idle), "failed": int(failed), "total_ms": float(duration_ms)},
    )
    if not created:
        JobTally.objects.filter(kind=kind, hour=hour).update(**changes)


@contextmanager
def record_job(kind: str, *, trigger: str = "schedule", task_id: str = "") -> Iterator[JobRecorder]:
    """Write a running JobRun now and its outcome when the block ends (the error is re-raised)."""
    started = time.perf_counter()
    run = JobRun.objects.create(kind=kind, trigger=trigger, host=socket.gethostname()[:200], task_id=task_id or "")
    recorder = JobRecorder(run)
    state, error = JobRun.State.SUCCEEDED, ""
    try:
        yield recorder
    except Exception as exc:
        state = JobRun.State.FAILED
        # Class and message only: job errors are shown in the console, tracebacks go to the log.
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.exception("job %s failed", kind)
        raise
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        count_run(kind, duration_ms, failed=state == JobRun.State.FAILED)
        JobRun.objects.filter(pk=run.pk).update(
            state=state,
            finished_at=timezone.now(),
            duration_ms=duration_ms,
            stats=_json_safe(recorder.stats),
            summary=recorder.summary[:300],
            error=error,
        )


def log_finished_job(kind: str, started: float, stats: dict[str, Any], summary: str = "", task_id: str = "") -> JobRun:
    """Record a job that already finished; for frequent ticks that are logged only when they did something."""
    duration = time.perf_counter() - started
    now = timezone.now()
    count_run(kind, duration * 1000)
    return JobRun.objects.create(
        kind=kind,
        state=JobRun.State.SUCCEEDED,
        started_at=now - dt.timedelta(seconds=duration),
        finished_at=now,
        duration_ms=round(duration * 1000, 1),
        host=socket.gethostname()[:200],
        task_id=task_id or "",
        stats=_json_safe(stats),
        summary=summary[:300],
    )


def prune_job_runs(*, now: dt.datetime | None = None) -> int:
    """Delete finished job runs older than JOB_RUN_RETENTION_DAYS; a run still marked running
    for a day (its worker died) is closed as failed."""
    now = now or timezone.now()
    JobRun.objects.filter(state=JobRun.State.RUNNING, started_at__lt=now - dt.timedelta(days=1)).update(
        state=JobRun.State.FAILED, finished_at=now, error="never finished (worker lost)"
    )
    cutoff = now - dt.timedelta(days=settings.JOB_RUN_RETENTION_DAYS)
    deleted, _ = JobRun.objects.filter(started_at__lt=cutoff).exclude(state=JobRun.State.RUNNING).delete()
    JobTally.objects.filter(hour__lt=cutoff).delete()
    return deleted
