"""App config for monitoring: audit registrations, default beat entries."""

from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring and alerts"

    def ready(self) -> None:
        from opsportal import audit

        from .models import Service, Tag

        audit.register(
            Service,
            exclude={
                "status",
                "status_since",
                "status_reason",
                "consecutive_failures",
                "consecutive_successes",
                "last_checked_at",
                "last_ok",
                "last_latency_ms",
                "last_status_code",
                "last_error",
                "cert_expires_at",
                "next_due_at",
                "claimed_until",
                "claim_token",
                "updated_at",
            },
        )
        audit.register(Tag)

        # Metrics and alerts: audit registrations, beat entries, tasks, host metric collection.
        from .alert_setup import ready as alerts_ready

        alerts_ready()
