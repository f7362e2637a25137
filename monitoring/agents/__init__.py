"""AI agents: the registry, their runs, the model-provider fallback chain, logs and OTLP ingest.

May import opsportal, monitoring.services, monitoring.alerts and monitoring.metrics; never the dashboard.
"""
