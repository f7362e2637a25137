"""Thin Celery tasks of the agents part: polling and provider probes, agent metrics, pruning."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="monitoring.agents_tick", ignore_result=True)
def agents_tick() -> dict[str, Any]:
    import time

    from opsportal.jobs import count_run, log_finished_job

    from . import chain, polling

    started = time.perf_counter()
    stats = {"polled": polling.poll_due(), "providers_checked": chain.check_due()}
    if any(stats.values()):  # every 10 s: a row only when it did something, every run counted
        log_finished_job("agents: poll and probe providers", started, stats)
    else:
        count_run("agents: poll and probe providers", (time.perf_counter() - started) * 1000, idle=True)
    return stats


@shared_task(name="monitoring.agent_metrics", ignore_result=True)
def agent_metrics() -> dict[str, Any]:
    from opsportal.jobs import record_job

    from .catalog import compute
    from .rollups import rollup

    with record_job("agents: metrics") as job:
        job.stats = {"rollup_rows": rollup(), "samples": compute()}
    return job.stats


@shared_task(name="monitoring.prune_agent_data", ignore_result=True)
def prune_agent_data() -> dict[str, Any]:
    from opsportal.jobs import record_job

    from .retention import prune

    with record_job("agents: prune logs and runs") as job:
        job.stats = prune()
    return job.stats
