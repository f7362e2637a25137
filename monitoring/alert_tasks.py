"""Celery tasks of metrics and alerts: thin wrappers that call the domain modules (beat runs them)."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="monitoring.alerts_tick")
def alerts_tick() -> dict[str, Any]:
    """Every few seconds: service flips into alerts, then one notifier pass."""
    from . import alerting, notify

    flips = alerting.process_flips()
    return {"flips": flips, **notify.run_once()}


@shared_task(name="monitoring.evaluate_metrics")
def evaluate_metrics() -> dict[str, Any]:
    """Every minute: metrics, certificate expiry and the end of flapping."""
    from . import alerting, evaluation

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
