"""Agents: AI agents, their runs, the model-provider fallback chain, logs, OTLP ingest.
Empty for now; the AI agents issue's work goes here.
May import opsportal, monitoring.services, monitoring.alerts and monitoring.metrics; never the dashboard.
"""
