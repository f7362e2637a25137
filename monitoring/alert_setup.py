"""Start-up wiring of metrics and alerts, called from MonitoringConfig.ready().

Audit registrations, default beat entries, the Celery tasks module, and the bootstep that
collects host metrics on every worker.
"""

from __future__ import annotations


def ready() -> None:
    from opsportal import audit
    from opsportal.celery import app
    from opsportal.metrics import register_collector
    from opsportal.schedule import DefaultEntry, declare

    from . import alert_tasks  # noqa: F401 - registers the Celery tasks
    from .alerting import AlertsCollector, validate_settings
    from .collectors import HostMetrics
    from .models import MaintenanceWindow, Metric, NotificationChannel, Silence

    validate_settings()
    audit.register(Metric, exclude={"updated_at"})
    audit.register(
        NotificationChannel,
        exclude={"updated_at", "last_test_at", "last_test_ok", "last_test_error"},
        secret={"url"},
    )
    audit.register(Silence)
    audit.register(MaintenanceWindow)

    declare(
        DefaultEntry(
            name="monitoring: alerts and notifications",
            task="monitoring.alerts_tick",
            every_seconds=10,
            description="Turns service flips into alerts and sends due notifications.",
        )
    )
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
    if HostMetrics not in app.steps["worker"]:
        app.steps["worker"].add(HostMetrics)
    if not getattr(ready, "_collector_registered", False):
        register_collector(AlertsCollector())
        ready._collector_registered = True  # type: ignore[attr-defined]
