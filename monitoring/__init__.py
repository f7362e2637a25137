"""Monitoring: the dashboard, services and probes, metrics, alerts, AI agents and model providers."""
