"""Core Celery tasks."""

from __future__ import annotations

import socket
import time
from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="opsportal.ping")
def ping(payload: Any = None) -> dict[str, Any]:
    """Answer from the worker that consumed it: proves a broker round trip (used by tests and the admin)."""
    return {"pong": payload, "host": socket.gethostname(), "at": timezone.now().isoformat()}


@shared_task(name="opsportal.prune_job_runs", ignore_result=True, bind=True)
def prune_job_runs(self: Any) -> int:
    """Daily: drop job-run rows past JOB_RUN_RETENTION_DAYS and sign-in events past SIGNIN_RETENTION_DAYS."""
    from . import signins
    from .jobs import prune_job_runs as prune
    from .jobs import record_job

    with record_job("prune job runs", task_id=self.request.id or "") as job:
        signins.prune()
        deleted = prune()
        job.stats = {"deleted": deleted}
    return deleted


@shared_task(name="opsportal.outbound_heartbeat", ignore_result=True)
def outbound_heartbeat() -> dict[str, Any]:
    """Every minute: ping HEARTBEAT_URL while the portal is healthy (see opsportal.outbound); every run counted."""
    from .jobs import count_run
    from .outbound import send

    started = time.perf_counter()
    failed = True
    try:
        result = send()
        failed = False
        return result
    finally:
        count_run("outbound heartbeat", (time.perf_counter() - started) * 1000, failed=failed, idle=not failed)
