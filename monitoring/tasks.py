"""Celery tasks of the monitoring services side: thin wrappers around dispatch and rollups."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="monitoring.dispatch_due_probes", ignore_result=True)
def dispatch_due_probes() -> dict[str, Any]:
    """Claim the services that are due and probe them in one sweep (beat: every 5 s)."""
    from .dispatch import run_due

    return run_due().as_dict()


@shared_task(name="monitoring.rollup_history", ignore_result=True)
def rollup_history() -> dict[str, Any]:
    """Bring minute/hour/day rollups up to date (beat: every minute)."""
    from .rollups import rollup

    return rollup()


@shared_task(name="monitoring.prune_history", ignore_result=True)
def prune_history() -> dict[str, Any]:
    """Delete raw results and rollups past their retention (beat: hourly)."""
    from .rollups import prune

    return prune()
