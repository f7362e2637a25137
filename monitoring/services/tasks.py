"""Celery tasks of the monitoring services side: thin wrappers around dispatch and rollups.

Each records a JobRun (opsportal.jobs) so the console's Jobs page shows what ran, for how long
and with what result; a dispatch tick that found nothing due leaves no row but is counted (JobTally).
"""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from opsportal.jobs import count_run, record_job


@shared_task(name="monitoring.dispatch_due_probes", ignore_result=True, bind=True)
def dispatch_due_probes(self: Any) -> dict[str, Any]:
    """Claim the services that are due and probe them in one sweep (beat: every 5 s)."""
    from monitoring.services.dispatch import claim_due, probe_claimed

    started = time.perf_counter()
    token, services = claim_due()
    if not services:
        count_run("probe sweep", (time.perf_counter() - started) * 1000, idle=True)  # counted, no row
        return {"claimed": 0}
    with record_job("probe sweep", task_id=self.request.id or "") as job:  # counts this run
        report = probe_claimed(services, token)
        job.stats = report.as_dict()
        job.summary = f"probed {report.probed}, {report.failed} failed, {len(report.flips)} state change(s)"
    return report.as_dict()


@shared_task(name="monitoring.rollup_history", ignore_result=True, bind=True)
def rollup_history(self: Any) -> dict[str, Any]:
    """Bring minute/hour/day rollups up to date (beat: every minute)."""
    from monitoring.services.rollups import rollup

    with record_job("rollup history", task_id=self.request.id or "") as job:
        job.stats = rollup()
    return job.stats


@shared_task(name="monitoring.prune_history", ignore_result=True, bind=True)
def prune_history(self: Any) -> dict[str, Any]:
    """Delete raw results and rollups past their retention (beat: hourly)."""
    from monitoring.services.rollups import prune

    with record_job("prune history", task_id=self.request.id or "") as job:
        job.stats = prune()
    return job.stats
