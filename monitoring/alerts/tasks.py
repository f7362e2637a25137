"""Celery tasks of alerts: thin wrappers that call the domain modules (beat runs them)."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task


@shared_task(name="monitoring.alerts_tick", bind=True)
def alerts_tick(self: Any) -> dict[str, Any]:
    """Every few seconds: service flips into alerts, then one notifier pass (recorded when it did something)."""
    from monitoring.alerts import alerting, notify
    from opsportal.jobs import log_finished_job

    started = time.perf_counter()
    report = {"flips": alerting.process_flips(), **notify.run_once()}
    if any(report.values()):
        summary = ", ".join(f"{k} {v}" for k, v in report.items() if v)
        log_finished_job("alerts and notifications", started, report, summary, task_id=self.request.id or "")
    return report
