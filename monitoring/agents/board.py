"""The Agents page's figures, in a fixed number of queries whatever the number of agents and runs.

Read from the hourly rollups (``rollups.py``, recomputed every minute). Per agent over the last
24 hours, hour by hour: runs, p95 duration, memory (the catalog's series,
polled values included) against the memory limit, QA rejection rate against its threshold,
quality score, self-critique iterations; tokens and cost per day over 7 days; the last errors
(failed runs and error log lines); and the fallback chain.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from opsportal.charts import sparkline

from ..metrics.models import Metric, MetricSeries
from ..metrics.series import series_points
from . import chain, rollups, status
from .charts import chain_strip
from .models import Agent, AgentRun, AgentRunHour, LogLine

HOURS = 24
DAYS = 7
LAST_ERRORS = 5


def _hour_index(start: dt.datetime, at: dt.datetime) -> int:
    return min(HOURS - 1, max(0, int((at - start).total_seconds() // 3600)))


def hourly(rows: list[AgentRunHour], start: dt.datetime) -> dict[int, dict[str, list[Any]]]:
    """Per agent: lists of HOURS values (None when the hour had no runs), from the rollup rows."""
    empty = lambda: [None] * HOURS  # noqa: E731
    out: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(empty))
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        if row.hour < start - dt.timedelta(hours=1):
            continue
        i = _hour_index(start, max(row.hour, start))
        m = merged.setdefault((row.agent_id, i), defaultdict(float))
        for name in ("runs", "failed", "reviewed", "rejected", "quality_sum", "quality_count"):
            m[name] += getattr(row, name)
        m["critique"] = (
            max(m.get("critique") or 0, row.critique_max or 0) if row.critique_max is not None else m.get("critique")
        )
        m["duration"] = max(m.get("duration") or 0.0, (row.duration_max_ms or 0.0) / 1000)
    for (agent_id, i), m in merged.items():
        series = out[agent_id]
        series["runs"][i] = int(m["runs"])
        series["failed"][i] = int(m["failed"])
        if m["reviewed"]:
            series["rejection"][i] = 100.0 * m["rejected"] / m["reviewed"]
        if m["quality_count"]:
            series["quality"][i] = m["quality_sum"] / m["quality_count"]
        series["critique"][i] = m.get("critique")
        series["duration"][i] = m["duration"]
    return out


def daily(
    rows: list[AgentRunHour], now: dt.datetime
) -> tuple[list[dt.date], dict[int, dict[dt.date, dict[str, float]]]]:
    today = timezone.localdate(now)
    days = [today - dt.timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
    out: dict[int, dict[dt.date, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: {"tokens": 0.0, "cost": 0.0})
    )
    for row in rows:
        day = timezone.localdate(row.hour)
        out[row.agent_id][day]["tokens"] += float(row.tokens_in + row.tokens_out)
        out[row.agent_id][day]["cost"] += row.cost_usd
    return days, out


def last_errors(agents: list[Agent], since: dt.datetime) -> dict[int, list[dict[str, Any]]]:
    """The newest failed runs and error log lines of each agent (two queries, ranked in the database)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rank = Window(RowNumber(), partition_by=[F("agent_id")], order_by=F("started_at").desc())
    runs = (
        AgentRun.objects.filter(agent__in=agents, ok=False, started_at__gte=since)
        .annotate(rank=rank)
        .filter(rank__lte=LAST_ERRORS)
        .values_list("agent_id", "started_at", "error")
    )
    for agent_id, at, error in runs:
        out[agent_id].append({"at": at, "kind": "run", "message": error or "failed"})
    log_rank = Window(RowNumber(), partition_by=[F("agent_id")], order_by=F("at").desc())
    logs = (
        LogLine.objects.filter(agent__in=agents, level__in=["error", "critical"], at__gte=since)
        .annotate(rank=log_rank)
        .filter(rank__lte=LAST_ERRORS)
        .values_list("agent_id", "at", "message")
    )
    for agent_id, at, message in logs:
        out[agent_id].append({"at": at, "kind": "log", "message": message[:300]})
    for agent_id in out:
        out[agent_id] = sorted(out[agent_id], key=lambda e: e["at"], reverse=True)[:LAST_ERRORS]
    return out


def thresholds() -> dict[str, Metric]:
    return {m.key: m for m in Metric.objects.filter(key__in=status.AGENT_SERIES)}


def memory_trend(agents: list[Agent], start: dt.datetime, now: dt.datetime) -> dict[str, list[float | None]]:
    labels = [a.series_label for a in agents]
    ids = dict(MetricSeries.objects.filter(metric__key="agent_memory", label__in=labels).values_list("label", "id"))
    points = series_points(ids.values(), start, now, buckets=HOURS)
    return {label: points.get(sid, [None] * HOURS) for label, sid in ids.items()}


def _last(values: list[Any]) -> Any:
    return next((v for v in reversed(values) if v is not None), None)


def page(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    start = now - dt.timedelta(hours=HOURS)
    agents = list(Agent.objects.filter(enabled=True).select_related("service"))
    metrics = thresholds()
    limit = metrics["agent_memory"].alert_threshold if "agent_memory" in metrics else 500.0
    reject_limit = metrics["agent_qa_rejection_rate"].alert_threshold if "agent_qa_rejection_rate" in metrics else 30.0
    critique_limit = (
        metrics["agent_critique_iterations"].alert_threshold if "agent_critique_iterations" in metrics else 3
    )
    slow_limit = metrics["agent_run_duration"].alert_threshold / 1000 if "agent_run_duration" in metrics else 300.0
    week = rollups.hour_rows(now - dt.timedelta(days=DAYS), now)
    hours = hourly(week, start)
    p95 = {
        a: s.p95_ms for a, s in rollups.summaries([r for r in week if r.hour >= start - dt.timedelta(hours=1)]).items()
    }
    days, per_day = daily(week, now)
    errors = last_errors(agents, now - dt.timedelta(days=DAYS))
    memory = memory_trend(agents, start, now)
    alerts = status.open_agent_alerts()
    cards = []
    for agent in agents:
        h = hours.get(agent.pk, defaultdict(lambda: [None] * HOURS))
        mem = memory.get(agent.series_label, [None] * HOURS)
        mem_now = _last(mem)
        rejection_now = _last(h["rejection"])
        day_values = [per_day.get(agent.pk, {}).get(d, {"tokens": 0.0, "cost": 0.0}) for d in days]
        own = alerts.get(agent.series_label, [])
        p95_s = p95.get(agent.pk)
        p95_s = None if p95_s is None else p95_s / 1000
        cards.append(
            {
                "agent": agent,
                "alerts": own,
                "state": "critical" if any(a.severity == "critical" for a in own) else ("warning" if own else "ok"),
                "runs_last_hour": h["runs"][-1] or 0,
                "runs_24h": sum(v or 0 for v in h["runs"]),
                "failed_24h": sum(v or 0 for v in h["failed"]),
                "runs_spark": sparkline(
                    [v or 0 for v in h["runs"]], label=f"{agent.name} runs per hour", mark_last=True
                ),
                "p95_seconds": p95_s,
                "p95_slow": p95_s is not None and p95_s > slow_limit,
                "duration_spark": sparkline(
                    h["duration"], threshold=slow_limit, label="longest run per hour (s)", mark_last=True
                ),
                "memory_now": mem_now,
                "memory_over": mem_now is not None and mem_now > limit,
                "memory_spark": sparkline(
                    mem,
                    threshold=limit,
                    css="spark-alerting" if mem_now and mem_now > limit else "spark-ok",
                    label="memory MB",
                    mark_last=True,
                ),
                "rejection_now": rejection_now,
                "rejection_over": rejection_now is not None and rejection_now > reject_limit,
                "rejection_spark": sparkline(
                    h["rejection"],
                    threshold=reject_limit,
                    css="spark-alerting" if rejection_now and rejection_now > reject_limit else "spark-ok",
                    mark_last=True,
                    label="QA rejection % per hour",
                ),
                "quality_now": _last(h["quality"]),
                "quality_spark": sparkline(h["quality"], label="quality score per hour", mark_last=True),
                "critique_now": _last(h["critique"]),
                "critique_spark": sparkline(
                    h["critique"], threshold=critique_limit, label="most critique iterations", mark_last=True
                ),
                "tokens_today": day_values[-1]["tokens"],
                "cost_today": day_values[-1]["cost"],
                "tokens_spark": sparkline(
                    [d["tokens"] for d in day_values], label="tokens per day, 7 days", mark_last=True
                ),
                "cost_spark": sparkline(
                    [d["cost"] for d in day_values], label="cost per day (USD), 7 days", mark_last=True
                ),
                "errors": errors.get(agent.pk, []),
            }
        )
    models = chain.status(now)
    return {
        "cards": cards,
        "models": models,
        "strip": chain_strip([p for p in models["providers"] if p["enabled"]]),
        "limits": {"memory": limit, "rejection": reject_limit, "critique": critique_limit, "slow": slow_limit},
        "last_test": chain.last_results(),
        "now": now,
    }


def dashboard_row(now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard's agents row: each agent's state and last hour, and the chain strip."""
    now = now or timezone.now()
    agents = list(Agent.objects.filter(enabled=True).select_related("service"))
    rows = status.agents_json(agents, now)
    models = chain.status(now)
    return {
        "agents": rows,
        "models": models,
        "strip": chain_strip([p for p in models["providers"] if p["enabled"]], box=110, height=40, gap=20),
    }
