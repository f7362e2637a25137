"""Celery tasks of metrics and alerts: thin wrappers that call the domain modules (beat runs them)."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task


@shared_task(name="monitoring.alerts_tick", bind=True)
def alerts_tick(self: Any) -> dict[str, Any]:
    """Every few seconds: service flips into alerts, then one notifier pass (recorded when it did something)."""
    from opsportal.jobs import log_finished_job

    from . import alerting, notify

    started = time.perf_counter()
    report = {"flips": alerting.process_flips(), **notify.run_once()}
    if any(report.values()):
        summary = ", ".join(f"{k} {v}" for k, v in report.items() if v)
        log_finished_job("alerts and notifications", started, report, summary, task_id=self.request.id or "")
    return report


@shared_task(name="monitoring.evaluate_metrics", bind=True)
def evaluate_metrics(self: Any) -> dict[str, Any]:
    """Every minute: metrics, certificate expiry and the end of flapping."""
    from opsportal.jobs import record_job

    from . import alerting, evaluation

    with record_job("evaluate metrics", task_id=self.request.id or "") as job:
        job.stats = _evaluate(alerting, evaluation)
        job.summary = f"{job.stats['series']} series, {job.stats['raised']} raised, {job.stats['resolved']} resolved"
    return job.stats


def _evaluate(alerting: Any, evaluation: Any) -> dict[str, Any]:
    report = evaluation.evaluate()
    return {
        "series": report.series,
        "samples": report.samples,
        "raised": report.raised,
        "resolved": report.resolved,
        "states": report.states,
        "seconds": round(report.seconds, 3),
        "certificates_alerting": alerting.check_certificates(),
        "flapping_ended": alerting.end_flapping(),
    }


@shared_task(name="monitoring.prune_metric_samples")
def prune_metric_samples() -> int:
    from .evaluation import prune_samples

    return prune_samples()
