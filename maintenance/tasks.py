"""Celery tasks of the maintenance app: thin wrappers around the domain modules."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from opsportal.jobs import count_run, log_finished_job


@shared_task(name="maintenance.open_checklist_periods", ignore_result=True, bind=True)
def open_checklist_periods(self: Any) -> dict[str, int]:
    """Open due checklist periods and flag overdue ones; leaves a job row when it did something (every run is counted)."""
    from .periods import mark_overdue, open_due_periods

    started = time.perf_counter()
    opened = open_due_periods()
    overdue = mark_overdue()
    stats = {"opened": len(opened), "overdue": len(overdue)}
    if opened or overdue:
        summary = ", ".join(f"{p.checklist.name} {p.key}" for p in opened[:6])
        log_finished_job(
            "maintenance: open checklist periods",
            started,
            stats,
            summary=(f"opened {summary}" if opened else "") + (f"; {len(overdue)} overdue" if overdue else ""),
            task_id=self.request.id or "",
        )
    else:
        count_run("maintenance: open checklist periods", (time.perf_counter() - started) * 1000, idle=True)
    return stats
