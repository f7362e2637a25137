"""Start-up wiring of services, called once from MonitoringConfig.ready().

Audit registrations, the signal that pauses a disabled service, default beat entries (roll up,
prune), the worker's probe dispatcher, the Celery tasks module and the /metrics gauge of service states.
"""

from __future__ import annotations


def setup() -> None:
    from django.db.models.signals import post_save

    from monitoring.services import ping, tasks  # noqa: F401 - registers the Celery tasks
    from monitoring.services.dispatcher import DispatcherStep
    from monitoring.services.models import Service, Tag
    from monitoring.services.state import ServiceStatusCollector, on_service_saved
    from opsportal import audit, fastpath
    from opsportal.celery import app
    from opsportal.metrics import register_collector
    from opsportal.schedule import DefaultEntry, declare

    audit.register(Service, exclude={*Service.STATE_FIELDS, *Service.CLAIM_FIELDS, *Service.RATE_FIELDS, "updated_at"})
    audit.register(Tag)

    post_save.connect(on_service_saved, sender=Service, dispatch_uid="monitoring-service-paused-follows-enabled")

    declare(
        DefaultEntry(
            "monitoring: roll up check history",
            "monitoring.rollup_history",
            every_seconds=60,
            description="Minute, hour and day rollups of probe results (idempotent).",
        )
    )
    declare(
        DefaultEntry(
            "monitoring: prune check history",
            "monitoring.prune_history",
            crontab="17 * * * *",
            description="Deletes raw results after RAW_RETENTION_DAYS and rollups after 400 days.",
        )
    )
    register_collector(ServiceStatusCollector())
    # Probes are dispatched by a loop in each worker, not by a beat entry (monitoring.services.dispatcher).
    if DispatcherStep not in app.steps["worker"]:
        app.steps["worker"].add(DispatcherStep)
    # Cron jobs' pings skip Django's middleware in the WSGI process (see opsportal.fastpath).
    fastpath.register("/ping/", "ping", ping.handle)
