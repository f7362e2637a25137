"""VACUUM ANALYZE from the console: queue a VacuumRun, run it once in a Celery task, record it."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from django.utils import timezone

from monitoring.public import evidence
from opsportal import audit
from opsportal.models import AuditRecord

from . import dbcare
from .models import VacuumRun
from .security_choices import VacuumState


def targets() -> list[dbcare.Target]:
    """The portal's own database and every PostgreSQL source backups knows (by variable name)."""
    out = []
    own = dbcare.portal_target()
    if own is not None:
        out.append(own)
    sources = evidence("postgres_sources") or {}
    for src in sources.get("sources", []):
        url = os.environ.get(src.get("url_env", ""), "")
        if url:
            out.append(dbcare.Target(slug=f"source-{src['slug']}", label=f"Backup source {src['name']}", conninfo=url))
    return out


def missing_sources() -> list[dict[str, Any]]:
    """Sources whose variable is not set in this process (listed, not inspected)."""
    sources = evidence("postgres_sources") or {}
    return [s for s in sources.get("sources", []) if not os.environ.get(s.get("url_env", ""), "")]


def target_named(slug: str) -> dbcare.Target | None:
    return next((t for t in targets() if t.slug == slug), None)


def request_vacuum(target: dbcare.Target, table: str, user: Any) -> VacuumRun:
    """Create the run (audited as a creation); the caller queues ``maintenance.vacuum`` after commit."""
    return VacuumRun.objects.create(
        target=target.slug, target_label=target.label, table=table.strip(), requested_by=user, task_id=uuid.uuid4().hex
    )


def execute(run_id: int) -> VacuumRun | None:
    """Run a queued VacuumRun once: claimed queued -> running, so a redelivered task does nothing."""
    now = timezone.now()
    if not VacuumRun.objects.filter(pk=run_id, state=VacuumState.QUEUED).update(
        state=VacuumState.RUNNING, started_at=now
    ):
        return None
    run = VacuumRun.objects.get(pk=run_id)
    started = time.perf_counter()
    target = target_named(run.target)
    state, error, figures = VacuumState.SUCCEEDED, "", {}
    try:
        if target is None:
            raise dbcare.CareError(f"database {run.target!r} is no longer configured")
        figures = dbcare.vacuum_analyze(target, run.table)
    except dbcare.CareError as exc:
        state, error = VacuumState.FAILED, str(exc)[:500]
    took = round((time.perf_counter() - started) * 1000, 1)
    VacuumRun.objects.filter(pk=run.pk).update(
        state=state,
        finished_at=timezone.now(),
        duration_ms=took,
        error=error,
        dead_rows_before=figures.get("dead_rows_before"),
    )
    run.refresh_from_db()
    what = run.table or "all tables"
    audit.record(
        AuditRecord.Action.ACTION,
        run,
        summary=f"VACUUM ANALYZE {what} on {run.target_label}: {state} in {took / 1000:.2f} s"
        + (f" ({error})" if error else ""),
        changes={"state": [VacuumState.RUNNING, state]},
    )
    return run
