"""Helpers of the metrics tests: the runbook's metric catalog, reloaded when a flush removed it."""

from __future__ import annotations


def ensure_runbook_metrics() -> None:
    """Reload the metric catalog: a transactional test that ran earlier may have flushed the tables."""
    import importlib

    from django.apps import apps

    importlib.import_module("monitoring.migrations.0003_runbook_metrics").load(apps, None)
    # and the SLO defaults of 0011 (burn-rate rules, Uptime's coverage, Error Rate's short window)
    importlib.import_module("monitoring.migrations.0011_slo_burn_rates").workbook_defaults(apps, None)
