"""The portal watched from outside: with HEARTBEAT_URL set (for example a Healthchecks.io ping URL),
beat pings it every minute, but only while the portal's own core checks (database, broker, worker,
scheduler) are healthy, so a dead or wedged portal is noticed by someone else.

Every attempt is a JobRun ("outbound heartbeat") with what was decided and why; /api/health
reports the last one that was sent. The URL is a credential: it is never logged or shown.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from django.conf import settings

from . import health
from .jobs import record_job

log = logging.getLogger(__name__)

JOB_KIND = health.OUTBOUND_JOB_KIND
GATING_CHECKS = ("database", "broker", "worker", "scheduler")
TIMEOUT_SECONDS = 10.0


def gate() -> tuple[bool, str]:
    """Whether the portal may say it is alive: every gating check healthy; else which one is not."""
    for name in GATING_CHECKS:
        result = health.CHECKS[name]()
        if result.status != health.HEALTHY:
            return False, f"{name}: {result.message}"
    return True, "database, broker, worker and scheduler healthy"


def send(*, trigger: str = "schedule") -> dict[str, Any]:
    """One attempt: ping HEARTBEAT_URL if the portal is healthy. Returns what was done."""
    url = settings.HEARTBEAT_URL
    if not url:
        return {"sent": False, "reason": "HEARTBEAT_URL is not set"}
    with record_job(JOB_KIND, trigger=trigger) as job:
        healthy, why = gate()
        if not healthy:
            job.stats = {"sent": False, "reason": why}
            job.summary = f"not sent: {why}"
            log.warning("outbound heartbeat not sent: %s", why)
            return job.stats
        try:
            response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=True)
        except httpx.HTTPError as exc:
            # The exception text can hold the URL: only its class is kept.
            raise RuntimeError(f"heartbeat URL unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise RuntimeError(f"heartbeat URL answered HTTP {response.status_code}")
        job.stats = {"sent": True, "http_status": response.status_code}
        job.summary = f"sent: HTTP {response.status_code}"
        return job.stats
