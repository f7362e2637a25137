"""Agent metrics into the metric catalog: values per agent (label ``agent:<slug>``) and per service from logs.

``compute()`` runs every minute. Each metric row (loaded by migration 0009, thresholds editable)
says its window; values come from agent runs in that window and from what polling last reported.
The samples are recorded with the agent's service, so the metric evaluation raises the runbook's
alerts through the alert machinery (holds, silences, notifications) with that service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Max, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from ..metrics.evaluation import SampleIn, record_samples
from ..metrics.models import Metric
from ..services.models import Service
from . import conf
from .choices import AgentKind, QaVerdict
from .models import Agent, AgentRun, LogLine

REPORT_FRESH = dt.timedelta(minutes=10)  # what polling reported counts this long


def _measure(name: str) -> Any:
    return Cast(KeyTextTransform(name, "measures"), FloatField())


# key -> (agent kinds it applies to (None: every agent), aggregate over the runs of its window)
AggregateFor = Callable[[Q], dict[str, Any]]
SPECS: dict[str, tuple[set[str] | None, AggregateFor]] = {
    "agent_run_duration": (None, lambda q: {"": Max("duration_ms", filter=q)}),
    "agent_memory": (None, lambda q: {"": Max("peak_memory_mb", filter=q)}),
    "agent_critique_iterations": (None, lambda q: {"": Max("critique_iterations", filter=q)}),
    "agent_qa_rejection_rate": (
        None,
        lambda q: {
            "n": Count("id", filter=q & Q(qa_verdict__in=[QaVerdict.APPROVED, QaVerdict.REJECTED])),
            "r": Count("id", filter=q & Q(qa_verdict=QaVerdict.REJECTED)),
        },
    ),
    "content_generation_speed": ({AgentKind.CONTENT}, lambda q: {"": Avg("duration_ms", filter=q)}),
    "content_quality_score": ({AgentKind.CONTENT}, lambda q: {"": Avg("quality_score", filter=q)}),
    "content_critique_loop_time": (
        {AgentKind.CONTENT},
        lambda q: {"": Avg(F("critique_seconds") * 1000.0, filter=q, output_field=FloatField())},
    ),
    "financial_calculation_accuracy": (
        {AgentKind.FINANCIAL},
        lambda q: {"": Avg(_measure("calculation_accuracy"), filter=q)},
    ),
    "financial_cost_tracking_updates": (
        {AgentKind.FINANCIAL},
        lambda q: {"": Sum(_measure("cost_tracking_updates"), filter=q)},
    ),
    "market_trend_detection_latency": (
        {AgentKind.MARKET},
        lambda q: {"": Avg(_measure("trend_detection_latency_ms"), filter=q)},
    ),
    "market_accuracy_score": ({AgentKind.MARKET}, lambda q: {"": Avg(_measure("accuracy_score"), filter=q)}),
    "compliance_violation_detection_rate": (
        {AgentKind.COMPLIANCE},
        lambda q: {"": Avg(_measure("violation_detection_rate"), filter=q)},
    ),
    "compliance_false_positive_rate": (
        {AgentKind.COMPLIANCE},
        lambda q: {"": Avg(_measure("false_positive_pct"), filter=q)},
    ),
}
# What polling reported that stands for a value of these metrics: (field, factor).
REPORTED = {
    "agent_run_duration": ("reported_avg_seconds", 1000.0),
    "agent_memory": ("reported_memory_mb", 1.0),
    "agent_critique_iterations": ("reported_critique_iterations", 1.0),
}


def _combine(values: list[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return max(present) if present else None


def agent_values(now: dt.datetime) -> list[SampleIn]:
    """One sample per (metric, agent) with data: runs of each metric's window, plus fresh reports."""
    metrics = {m.key: m for m in Metric.objects.filter(key__in=SPECS, enabled=True)}
    agents = {a.pk: a for a in Agent.objects.filter(enabled=True)}
    if not metrics or not agents:
        return []
    annotations: dict[str, Any] = {}
    for key, metric in metrics.items():
        window = Q(started_at__gte=now - dt.timedelta(minutes=metric.window_minutes), started_at__lte=now)
        for part, expression in SPECS[key][1](window).items():
            annotations[f"{key}__{part}" if part else key] = expression
    oldest = now - dt.timedelta(minutes=max(m.window_minutes for m in metrics.values()))
    rows = {
        row["agent_id"]: row
        for row in AgentRun.objects.filter(started_at__gte=oldest, started_at__lte=now, agent_id__in=agents)
        .order_by()
        .values("agent_id")
        .annotate(**annotations)
    }
    minimum = max(1, conf.AGENT_QA_MIN_RUNS.get())
    samples = []
    for agent_id, agent in agents.items():
        row = rows.get(agent_id, {})
        fresh = agent.reported_at is not None and now - agent.reported_at <= REPORT_FRESH
        for key, metric in metrics.items():
            kinds = SPECS[key][0]
            if kinds is not None and agent.kind not in kinds:
                continue
            if key == "agent_qa_rejection_rate":
                reviewed = row.get(f"{key}__n") or 0
                value = 100.0 * (row.get(f"{key}__r") or 0) / reviewed if reviewed >= minimum else None
            else:
                value = row.get(key)
                if key in REPORTED and fresh:
                    field, factor = REPORTED[key]
                    reported = getattr(agent, field)
                    value = _combine([value, None if reported is None else reported * factor])
            if value is not None:
                samples.append(SampleIn(metric.pk, agent.series_label, float(value), now, agent.service_id))
    return samples


def log_error_rates(now: dt.datetime) -> list[SampleIn]:
    """The error-rate metric of each service from its log lines (at least LOG_METRIC_MIN_LINES)."""
    metric = Metric.objects.filter(key="log_error_rate", enabled=True).first()
    if metric is None:
        return []
    since = now - dt.timedelta(minutes=metric.window_minutes)
    minimum = max(1, conf.LOG_METRIC_MIN_LINES.get())
    rows = (
        LogLine.objects.filter(at__gte=since, at__lte=now)
        .order_by()
        .values("service_id")
        .annotate(n=Count("id"), e=Count("id", filter=Q(level__in=["error", "critical"])))
        .filter(n__gte=minimum)
    )
    slugs = dict(Service.objects.filter(pk__in=[r["service_id"] for r in rows]).values_list("pk", "slug"))
    return [
        SampleIn(metric.pk, f"logs:{slugs[r['service_id']]}", 100.0 * r["e"] / r["n"], now, r["service_id"])
        for r in rows
        if r["service_id"] in slugs
    ]


def compute(now: dt.datetime | None = None) -> int:
    """Record this minute's agent and log metrics; the metric evaluation turns breaches into alerts."""
    now = now or timezone.now()
    return record_samples(agent_values(now) + log_error_rates(now))
