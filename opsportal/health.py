"""The portal's own health: database, broker, cache, worker, scheduler and disk.

Each check returns a HealthResult; the overall status is the worst of them. A check never
puts a connection URL or other secret into its message.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
_ORDER = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


@dataclass
class HealthResult:
    """What one health check found: a status (healthy, degraded, unhealthy), a message, details."""

    status: str
    message: str
    details: dict[str, Any] | None = None


def check_database() -> HealthResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health: database check failed: %s", exc)
        connection.close_if_unusable_or_obsolete()
        return HealthResult(UNHEALTHY, "database unreachable")
    return HealthResult(HEALTHY, f"{connection.vendor} answered")


def check_broker() -> HealthResult:
    from .celery import app

    url = app.conf.broker_url or ""
    if url.startswith("filesystem://"):
        folder = settings.BROKER_DIR / "queue"
        if folder.is_dir() and shutil.disk_usage(folder).free > 0:
            return HealthResult(HEALTHY, "embedded broker folder writable", {"transport": "filesystem"})
        return HealthResult(DEGRADED, "embedded broker folder missing", {"transport": "filesystem"})
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        log.warning("health: broker check failed: %s", type(exc).__name__)
        return HealthResult(DEGRADED, "broker unreachable", {"transport": url.split(":", 1)[0]})
    return HealthResult(HEALTHY, "broker reachable", {"transport": url.split(":", 1)[0]})


def check_cache() -> HealthResult:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", 10)
        ok = cache.get(key) == "ok"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        log.warning("health: cache check failed: %s", type(exc).__name__)
        return HealthResult(DEGRADED, "cache unreachable")
    return HealthResult(HEALTHY, "cache round trip ok") if ok else HealthResult(DEGRADED, "cache did not keep a value")


def _check_heartbeat(kind: str, label: str) -> HealthResult:
    from .models import Heartbeat

    try:
        latest = Heartbeat.objects.filter(kind=kind).order_by("-last_seen").first()
    except Exception:  # noqa: BLE001 - the database check reports the cause
        return HealthResult(UNHEALTHY, f"{label} state unknown (database unreachable)")
    if latest is None:
        return HealthResult(DEGRADED, f"no {label} has been seen")
    age = latest.age_seconds()
    details = {"name": latest.name, "last_seen": latest.last_seen.isoformat(), "age_seconds": round(age, 1)}
    if age > settings.HEARTBEAT_STALE_SECONDS:
        return HealthResult(DEGRADED, f"{label} last seen {int(age)} s ago", details)
    return HealthResult(HEALTHY, f"{label} seen {int(age)} s ago", details)


def check_worker() -> HealthResult:
    return _check_heartbeat("worker", "worker")


def check_scheduler() -> HealthResult:
    return _check_heartbeat("beat", "scheduler")


DISK_DEGRADED_PCT = 90.0
DISK_UNHEALTHY_PCT = 98.0


def check_disk() -> HealthResult:
    worst = HEALTHY
    details = {}
    for path in settings.DISK_PATHS:
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            worst = max(worst, DEGRADED, key=_ORDER.__getitem__)
            details[path] = "missing"
            continue
        pct = 100.0 * usage.used / usage.total if usage.total else 0.0
        details[path] = {"used_pct": round(pct, 1), "free_bytes": usage.free}
        if pct >= DISK_UNHEALTHY_PCT:
            worst = UNHEALTHY
        elif pct >= DISK_DEGRADED_PCT:
            worst = max(worst, DEGRADED, key=_ORDER.__getitem__)
    msg = {HEALTHY: "disk space ok", DEGRADED: "disk space low", UNHEALTHY: "disk nearly full"}[worst]
    return HealthResult(worst, msg, details)


CHECKS: dict[str, Callable[[], HealthResult]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "worker": check_worker,
    "scheduler": check_scheduler,
    "disk": check_disk,
}


OUTBOUND_JOB_KIND = "outbound heartbeat"


def last_outbound_heartbeat() -> dict[str, Any]:
    """For /api/health: whether a URL is set, the last heartbeat sent, and the last attempt."""
    info: dict[str, Any] = {"configured": bool(settings.HEARTBEAT_URL)}
    if not info["configured"]:
        return info
    from .models import JobRun

    runs = JobRun.objects.filter(kind=OUTBOUND_JOB_KIND).exclude(state=JobRun.State.RUNNING)
    sent = runs.filter(state=JobRun.State.SUCCEEDED, stats__sent=True).order_by("-started_at").first()
    attempt = runs.order_by("-started_at").first()
    info["last_sent_at"] = sent.finished_at.isoformat() if sent and sent.finished_at else None
    if attempt is not None:
        info["last_attempt_at"] = attempt.started_at.isoformat()
        info["last_result"] = attempt.summary or attempt.error
    return info


def run_checks() -> dict[str, Any]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception:
            log.exception("health check %s crashed", name)
            results[name] = HealthResult(DEGRADED, "check failed unexpectedly")
    status = max((r.status for r in results.values()), key=_ORDER.__getitem__, default=HEALTHY)
    try:
        outbound = last_outbound_heartbeat()
    except Exception:  # noqa: BLE001 - the database check reports the cause
        outbound = {"configured": bool(settings.HEARTBEAT_URL)}
    return {
        "status": status,
        "timestamp": timezone.now().isoformat(),
        "outbound_heartbeat": outbound,
        "checks": {name: {k: v for k, v in asdict(r).items() if v is not None} for name, r in results.items()},
    }
