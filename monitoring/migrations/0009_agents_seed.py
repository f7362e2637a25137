"""Seed the runbook's agents and put its agent metrics and alert conditions in the metric catalog.

The runbook's "Agent Execution Monitoring": the content, financial, market and compliance agents
and the QA agent that reviews content; its alert conditions (run > 5 minutes, memory > 500MB,
QA rejection > 30%, self-critique iterations > 3) and agent-specific metrics. Values come from
agent runs and polling (monitoring/agents/catalog.py); thresholds are editable rows.
"""

from django.db import migrations

AGENTS = [
    ("content", "Content Agent", "content", "Generates content and refines it in a self-critique loop."),
    ("financial", "Financial Agent", "financial", "Calculations and cost tracking."),
    ("market", "Market Agent", "market", "Trend detection."),
    ("compliance", "Compliance Agent", "compliance", "Detects compliance violations."),
    ("qa", "QA Agent", "qa", "Reviews the content agent's output: approved or rejected."),
]


def _metric(key, name, unit, direction, target, alert, description, **extra):
    row = {
        "key": key,
        "name": name,
        "unit": unit,
        "direction": direction,
        "target": target,
        "alert_threshold": alert,
        "description": description,
        "scope": "service",
        "source": "provider",
        "source_name": "agents",
        "for_seconds": 0,
        "window_minutes": 15,
        "severity": "warning",
        "runbook": "Troubleshooting Agent Issues",
    }
    row.update(extra)
    return row


AGENT_METRICS = [
    # The runbook's "Alert Conditions for Agents".
    _metric(
        "agent_run_duration", "Agent Execution Time (longest run)", "ms", "above", 300000, 300000,
        "Longest agent run started in the window (or the product's reported average). Alert: any run over 5 minutes.",
    ),
    _metric(
        "agent_memory", "Agent Memory", "MB", "above", 500, 500,
        "Peak memory of the agent's recent runs or as the product reports it. Alert over 500MB (leak detection).",
        severity="critical", window_minutes=5,
    ),
    _metric(
        "agent_qa_rejection_rate", "QA Rejection Rate", "percent", "above", 30, 30,
        "Share of the agent's reviewed runs the QA agent rejected over the window, once AGENT_QA_MIN_RUNS "
        "runs were reviewed. Alert over 30% (content quality issue).",
        window_minutes=60,
    ),
    _metric(
        "agent_critique_iterations", "Self-Critique Iterations", "count", "above", 3, 3,
        "Most self-critique iterations of a run in the window. Alert over 3 (stuck refining).",
    ),
    _metric(
        "log_error_rate", "Error Rate (logs)", "percent", "above", 0.1, 1,
        "Share of a service's log lines at error or critical level over the window (at least LOG_METRIC_MIN_LINES).",
        severity="critical", runbook="High Error Rate", for_seconds=300,
    ),
    # The runbook's "Agent-Specific Metrics to Monitor".
    _metric(
        "content_generation_speed", "Content Agent: Generation Speed", "ms", "above", 60000, 300000,
        "Average duration of the content agent's runs.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "content_quality_score", "Content Agent: Quality Score", "count", "below", 80, 60,
        "Average quality score (0-100) of the content agent's runs.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "content_critique_loop_time", "Content Agent: Self-Critique Loop Time", "ms", "above", 30000, 120000,
        "Average time a content run spends in its self-critique loop.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "financial_calculation_accuracy", "Financial Agent: Calculation Accuracy", "percent", "below", 99.9, 99,
        "Average of the measure calculation_accuracy the financial agent reports.", window_minutes=60,
        for_seconds=300,
    ),
    _metric(
        "financial_cost_tracking_updates", "Financial Agent: Cost Tracking Updates", "count", "below", 4, 1,
        "Cost tracking updates in the last hour (sum of the measure cost_tracking_updates).", window_minutes=60,
        for_seconds=300,
    ),
    _metric(
        "market_trend_detection_latency", "Market Agent: Trend Detection Latency", "ms", "above", 60000, 300000,
        "Average of the measure trend_detection_latency_ms.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "market_accuracy_score", "Market Agent: Accuracy Score", "percent", "below", 90, 80,
        "Average of the measure accuracy_score.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "compliance_violation_detection_rate", "Compliance Agent: Violation Detection Rate", "percent", "below",
        95, 90, "Average of the measure violation_detection_rate.", window_minutes=60, for_seconds=300,
    ),
    _metric(
        "compliance_false_positive_rate", "Compliance Agent: False Positive Percentage", "percent", "above", 5, 10,
        "Average of the measure false_positive_pct.", window_minutes=60, for_seconds=300,
    ),
]


def load(apps, schema_editor):
    Agent = apps.get_model("monitoring", "Agent")
    Metric = apps.get_model("monitoring", "Metric")
    for position, (slug, name, kind, description) in enumerate(AGENTS, start=1):
        Agent.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "description": description, "position": position}
        )
    for position, row in enumerate(AGENT_METRICS, start=20):
        Metric.objects.update_or_create(key=row["key"], defaults={**row, "position": position})


def unload(apps, schema_editor):
    apps.get_model("monitoring", "Metric").objects.filter(key__in=[r["key"] for r in AGENT_METRICS]).delete()
    apps.get_model("monitoring", "Agent").objects.filter(slug__in=[a[0] for a in AGENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0008_agents")]

    operations = [migrations.RunPython(load, unload)]
