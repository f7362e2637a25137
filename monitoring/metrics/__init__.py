"""Metrics: the metric catalog, samples and series, evaluation against thresholds, host metrics (psutil, pg connections).
Holds the metrics pages, the threshold form and the ingest API (metrics and deployments).
May import opsportal, monitoring.services and monitoring.alerts; never agents or the dashboard.
"""
