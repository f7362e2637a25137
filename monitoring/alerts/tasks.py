"""Celery tasks of alerts: thin wrappers that call the domain modules (beat runs them)."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task


@shared_task(name="monitoring.alerts_tick", bind=True)
def alerts_tick(self: Any) -> dict[str, Any]:
    """Every few seconds: flips into alerts, conditions that still hold, one notifier pass (a row when it did something; every run counted)."""
    from monitoring.alerts import alerting, notify
    from opsportal.jobs import count_run, log_finished_job

    kind = "alerts and notifications"
    started = time.perf_counter()
    try:
        report = {"flips": alerting.process_flips(), "reopened": alerting.reopen_conditions(), **notify.run_once()}
    except Exception:
        count_run(kind, (time.perf_counter() - started) * 1000, failed=True)
        raise
    if any(report.values()):
        summary = ", ".join(f"{k} {v}" for k, v in report.items() if v)
        log_finished_job(kind, started, report, summary, task_id=self.request.id or "")
    else:
        count_run(kind, (time.perf_counter() - started) * 1000, idle=True)  # counted, no row
    return report
