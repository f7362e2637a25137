"""What the runbook's agent endpoints answer: agent status, memory stats, agent error logs.

Every figure is read in a fixed number of queries whatever the number of agents and runs: the
last hour's runs grouped by agent, the hourly rollups of the day (counts, p95), the agent series of
the metric catalog, open alerts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from ..alerts.choices import AlertState
from ..alerts.models import Alert
from ..metrics.models import Metric, MetricSeries
from . import rollups
from .choices import LEVEL_RANK, LogLevel
from .models import Agent, AgentRun, LogLine

AGENT_SERIES = ("agent_memory", "agent_critique_iterations", "agent_qa_rejection_rate", "agent_run_duration")


def agent_series() -> dict[tuple[str, str], MetricSeries]:
    """(metric key, label) -> series of the agent metrics (one query)."""
    rows = MetricSeries.objects.filter(metric__key__in=AGENT_SERIES).select_related("metric")
    return {(s.metric.key, s.label): s for s in rows}


def open_agent_alerts() -> dict[str, list[Alert]]:
    """Open alerts per agent series label ('agent:content'), from their dedup keys (one query)."""
    found: dict[str, list[Alert]] = defaultdict(list)
    for alert in Alert.objects.filter(dedup_key__contains=":agent:").exclude(state=AlertState.RESOLVED):
        found["agent:" + alert.dedup_key.rsplit(":agent:", 1)[1]].append(alert)
    return found


def _value(series: dict[tuple[str, str], MetricSeries], key: str, label: str, now: dt.datetime) -> float | None:
    s = series.get((key, label))
    if s is None or s.last_at is None:
        return None
    return s.last_value if (now - s.last_at).total_seconds() <= s.metric.stale_after_seconds else None


def memory_limit_mb() -> float:
    metric = Metric.objects.filter(key="agent_memory").only("alert_threshold").first()
    return metric.alert_threshold if metric else 500.0


def agents_json(agents: list[Agent], now: dt.datetime) -> list[dict[str, Any]]:
    hour, day = now - dt.timedelta(hours=1), now - dt.timedelta(hours=24)
    recent = {
        row["agent_id"]: row
        for row in AgentRun.objects.filter(started_at__gte=hour, started_at__lte=now, agent__in=agents)
        .order_by()
        .values("agent_id")
        .annotate(runs_1h=Count("id"), failed_1h=Count("id", filter=Q(ok=False)), last=Max("started_at"))
    }
    daily = rollups.summaries(rollups.hour_rows(day, now, [a.pk for a in agents]))
    last_errors: dict[int, str] = {}
    failed = AgentRun.objects.filter(ok=False, agent__in=agents, started_at__gte=day).exclude(error="")
    if connection.vendor == "postgresql":
        rows = failed.order_by("agent_id", "-started_at").distinct("agent_id").values_list("agent_id", "error")
    else:
        rows = failed.order_by("-started_at").values_list("agent_id", "error")[:1000]
    for agent_id, error in rows:
        last_errors.setdefault(agent_id, error)
    series = agent_series()
    alerts = open_agent_alerts()
    out = []
    for agent in agents:
        row = recent.get(agent.pk, {})
        summary = daily.get(agent.pk, rollups.Summary())
        label = agent.series_label
        own = alerts.get(label, [])
        if any(a.severity == "critical" for a in own) or agent.reported_status == "error":
            state = "error"
        elif own:
            state = "degraded"
        elif not summary.runs and not row and agent.reported_at is None:
            state = "unknown"
        else:
            state = agent.reported_status or "ok"
        avg, p95 = summary.avg_ms, summary.p95_ms
        out.append(
            {
                "name": agent.slug,
                "display_name": agent.name,
                "role": agent.get_kind_display(),
                "status": state,
                "service": agent.service.slug if agent.service_id else None,
                "runs_1h": row.get("runs_1h", 0),
                "failed_1h": row.get("failed_1h", 0),
                "runs_24h": max(summary.runs, row.get("runs_1h", 0)),
                "avg_execution_seconds": None if avg is None else round(avg / 1000, 2),
                "p95_execution_seconds": None if p95 is None else round(p95 / 1000, 2),
                "memory_mb": _value(series, "agent_memory", label, now),
                "self_critique_iterations": _value(series, "agent_critique_iterations", label, now),
                "qa_rejection_rate_percent": _value(series, "agent_qa_rejection_rate", label, now),
                "last_run_at": row["last"].isoformat() if row.get("last") else None,
                "last_rolled_up_hour": summary.last_hour.isoformat() if summary.last_hour else None,
                "last_error": last_errors.get(agent.pk) or agent.reported_error or None,
                "reported_at": agent.reported_at.isoformat() if agent.reported_at else None,
                "alerts": [{"id": a.pk, "severity": a.severity, "summary": a.summary} for a in own],
            }
        )
    return out


def overall(agents: list[dict[str, Any]], exhausted: bool) -> str:
    states = {a["status"] for a in agents}
    if exhausted or "error" in states:
        return "unhealthy"
    return "degraded" if "degraded" in states else "healthy"


def agents_status(now: dt.datetime | None = None) -> dict[str, Any]:
    """``GET /api/agents/status``: ``{"status": ..., "agents": [...], "timestamp": ...}``."""
    from . import chain

    now = now or timezone.now()
    agents = list(Agent.objects.filter(enabled=True).select_related("service"))
    rows = agents_json(agents, now)
    exhausted = chain.is_exhausted(chain.ordered())
    return {"status": overall(rows, exhausted), "agents": rows, "timestamp": now.isoformat()}


def memory_stats(now: dt.datetime | None = None) -> dict[str, Any]:
    """``GET /api/agents/memory/stats``: each agent's latest memory against the limit (the metric's threshold)."""
    now = now or timezone.now()
    limit = memory_limit_mb()
    series = agent_series()
    agents: dict[str, Any] = {}
    for agent in Agent.objects.filter(enabled=True):
        s = series.get(("agent_memory", agent.series_label))
        value = _value(series, "agent_memory", agent.series_label, now)
        agents[agent.slug] = {
            "memory_mb": value,
            "at": s.last_at.isoformat() if s is not None and s.last_at else None,
            "over_limit": value is not None and value > limit,
        }
    total = sum(a["memory_mb"] for a in agents.values() if a["memory_mb"] is not None)
    return {"agents": agents, "total_mb": round(total, 1), "limit_mb": limit, "timestamp": now.isoformat()}


def levels_at_least(level: str) -> list[str]:
    return [name for name in LogLevel.values if LEVEL_RANK[name] >= LEVEL_RANK[level]]


def line_json(line: LogLine) -> dict[str, Any]:
    return {
        "at": line.at.isoformat(),
        "level": line.level,
        "service": line.service.slug,
        "agent": line.agent.slug if line.agent_id else None,
        "message": line.message,
        "attributes": line.attributes,
    }


def agent_logs(level: str, limit: int, agent: Agent | None = None) -> dict[str, Any]:
    """``GET /api/agents/logs?level=error&limit=50``: the newest lines at that level or above of the
    agents (lines naming an agent, or lines of a service an agent runs in)."""
    lines = LogLine.objects.filter(level__in=levels_at_least(level)).select_related("service", "agent")
    if agent is not None:
        lines = lines.filter(agent=agent)
    else:
        services = Agent.objects.exclude(service=None).values("service_id")
        lines = lines.filter(Q(agent__isnull=False) | Q(service_id__in=services))
    return {"level": level, "limit": limit, "logs": [line_json(x) for x in lines.order_by("-at", "-id")[:limit]]}
