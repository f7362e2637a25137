"""App config for monitoring: ``ready()`` wires up each part once (services, alerts, metrics, agents)."""

from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring and alerts"

    def ready(self) -> None:
        from . import report_providers
        from .agents.setup import setup as setup_agents
        from .alerts.setup import setup as setup_alerts
        from .metrics.setup import setup as setup_metrics
        from .services.setup import setup as setup_services

        setup_services()
        setup_alerts()
        setup_metrics()
        report_providers.register()  # facts maintenance reads by name (monthly report, secrets registry)

        # Evidence providers (services now, error rate, performance, alerts, deployments) for maintenance.
        from .evidence import register as register_evidence_providers

        register_evidence_providers()

        setup_agents()
