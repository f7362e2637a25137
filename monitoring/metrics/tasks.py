"""Celery tasks of metrics: thin wrappers that call the domain modules (beat runs them)."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="monitoring.evaluate_metrics", bind=True)
def evaluate_metrics(self: Any) -> dict[str, Any]:
    """Every minute: metrics, certificate expiry and the end of flapping."""
    from monitoring.alerts import alerting
    from monitoring.metrics import evaluation
    from opsportal.jobs import record_job

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


@shared_task(name="monitoring.prune_metric_samples", bind=True)
def prune_metric_samples(self: Any) -> int:
    from monitoring.metrics.evaluation import prune_samples
    from opsportal.jobs import record_job

    with record_job("prune metric samples", task_id=self.request.id or "") as job:
        deleted = prune_samples()
        job.stats = {"deleted": deleted}
    return deleted
