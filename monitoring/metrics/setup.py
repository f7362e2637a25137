"""Start-up wiring of metrics, called once from MonitoringConfig.ready().

Audit registration, the reader of metric thresholds for pages, default beat entries, the Celery tasks module, and the bootstep that
collects host metrics on every worker.
"""

from __future__ import annotations


def setup() -> None:
    from monitoring.metrics import budget_panels, tasks  # noqa: F401 - tasks registers the Celery tasks
    from monitoring.metrics.host_metrics import HostMetrics
    from monitoring.metrics.models import BurnRateRule, Metric, metric_thresholds
    from monitoring.services import thresholds
    from opsportal import audit
    from opsportal.celery import app
    from opsportal.schedule import DefaultEntry, declare

    audit.register(Metric, exclude={"updated_at"})
    thresholds.register_reader(metric_thresholds)
    audit.register(BurnRateRule)
    declare(
        DefaultEntry(
            name="monitoring: evaluate metrics",
            task="monitoring.evaluate_metrics",
            every_seconds=60,
            description="Evaluates every metric series against its thresholds; certificate expiry; flapping.",
        )
    )
    declare(
        DefaultEntry(
            name="monitoring: prune metric samples",
            task="monitoring.prune_metric_samples",
            crontab="17 3 * * *",
            description="Deletes metric samples older than METRIC_SAMPLE_RETENTION_DAYS.",
        )
    )
    budget_panels.register()  # the error budget on the service pages
    if HostMetrics not in app.steps["worker"]:
        app.steps["worker"].add(HostMetrics)
