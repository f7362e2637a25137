"""Start-up wiring of the agents part, called from MonitoringConfig.ready(): audit, beat entries, tasks."""

from __future__ import annotations


def setup() -> None:
    from opsportal import audit
    from opsportal.schedule import DefaultEntry, declare

    from . import admin, tasks  # noqa: F401 - registers the admin pages and the Celery tasks
    from .models import Agent, ModelProvider

    audit.register(
        Agent,
        exclude={
            "updated_at",
            "last_polled_at",
            "poll_error",
            "reported_at",
            "reported_status",
            "reported_error",
            "reported_memory_mb",
            "reported_avg_seconds",
            "reported_critique_iterations",
        },
    )
    audit.register(
        ModelProvider,
        exclude={"updated_at", *ModelProvider.STATE_FIELDS},
    )
    declare(
        DefaultEntry(
            "monitoring: agents and model providers",
            "monitoring.agents_tick",
            every_seconds=10,
            description="Polls the product's agent endpoints and probes the model providers that are due.",
        )
    )
    declare(
        DefaultEntry(
            "monitoring: agent metrics",
            "monitoring.agent_metrics",
            every_seconds=60,
            description="Rolls agent runs up by hour; computes the agent metrics and the error rate from logs into the catalog.",
        )
    )
    declare(
        DefaultEntry(
            "monitoring: prune logs and agent runs",
            "monitoring.prune_agent_data",
            crontab="23 * * * *",
            description="Deletes log lines past LOG_RETENTION_DAYS or LOG_MAX_LINES_PER_SERVICE, old runs and checks.",
        )
    )
