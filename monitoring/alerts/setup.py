"""Start-up wiring of alerts, called once from MonitoringConfig.ready().

Audit registrations, the default beat entry, the Celery tasks module and the
/metrics gauge of open alerts.
"""

from __future__ import annotations


def setup() -> None:
    from monitoring.alerts import tasks  # noqa: F401 - registers the Celery tasks
    from monitoring.alerts.alerting import AlertsCollector
    from monitoring.alerts.models import MaintenanceWindow, NotificationChannel, Silence
    from opsportal import audit
    from opsportal.metrics import register_collector
    from opsportal.schedule import DefaultEntry, declare

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
    register_collector(AlertsCollector())
