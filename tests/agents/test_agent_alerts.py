"""The runbook's agent alert conditions, end to end: the demo target's faults -> polling -> catalog ->
evaluation -> alerts on the agent's service; and the QA rejection window under frozen time."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from monitoring.agents import catalog, polling
from monitoring.alerts.choices import AlertState
from monitoring.management.commands.demo_target import DemoServer
from monitoring.metrics.evaluation import evaluate
from monitoring.models import Agent, AgentRun, Alert, LogLine, Metric, MetricSeries
from tests.agents.helpers import control, service

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo: DemoServer) -> DemoServer:
    call_command("seed_demo", target_url=demo.url, portal_url="http://127.0.0.1:8000", stdout=io.StringIO())
    return demo


def cycle() -> None:
    """What beat does: poll the product, compute the agent metrics, evaluate every series."""
    polling.poll(list(Agent.objects.all()))
    catalog.compute()
    evaluate()


def agent_alerts() -> dict[str, Alert]:
    return {a.dedup_key: a for a in Alert.objects.filter(dedup_key__contains=":agent:").select_related("service")}


def test_a_healthy_product_raises_nothing_and_polling_fills_the_rows(seeded: DemoServer) -> None:
    control(seeded, runs=12)
    cycle()
    content = Agent.objects.get(slug="content")
    assert content.service.slug == "demo-agent-content" and content.poll_error == ""
    assert content.reported_status in ("idle", "running") and content.reported_memory_mb < 500
    assert AgentRun.objects.filter(agent=content, source="poll").count() == 10  # the product lists its last 10
    polling.poll(list(Agent.objects.all()))
    assert AgentRun.objects.filter(agent=content, source="poll").count() == 10  # nothing stored twice
    assert agent_alerts() == {}
    memory = MetricSeries.objects.get(metric__key="agent_memory", label="agent:content")
    assert memory.service.slug == "demo-agent-content" and memory.last_value < 500


@pytest.mark.parametrize(
    ("fault", "agent", "key", "severity", "words"),
    [
        ("leak", "content", "agent_memory", "critical", "Agent Memory is"),
        ("stuck", "market", "agent_critique_iterations", "warning", "Self-Critique Iterations is 5"),
        ("slow", "financial", "agent_run_duration", "warning", "Agent Execution Time (longest run) is 360s"),
        ("reject", "content", "agent_qa_rejection_rate", "warning", "QA Rejection Rate is 60%"),
    ],
)
def test_each_fault_of_the_demo_target_raises_its_alert_on_the_agents_service(
    seeded: DemoServer, fault: str, agent: str, key: str, severity: str, words: str
) -> None:
    control(seeded, agent_fault=fault, agent=agent)
    control(seeded, runs=10, agent=agent)
    cycle()
    alerts = agent_alerts()
    assert list(alerts) == [f"metric:{key}:agent:{agent}"], alerts
    alert = alerts[f"metric:{key}:agent:{agent}"]
    assert alert.state == AlertState.FIRING and alert.severity == severity
    assert alert.service.slug == f"demo-agent-{agent}"  # holds apply to it
    assert alert.summary.startswith(words), alert.summary

    control(seeded, agent_fault="none", agent=agent)
    later = timezone.now() + dt.timedelta(minutes=61)  # past every window
    with time_machine.travel(later, tick=True):
        control(seeded, runs=10, agent=agent)
        cycle()
        alert.refresh_from_db()
        assert alert.state == AlertState.RESOLVED


def test_an_unhealthy_product_trips_memory_critique_and_duration_for_every_agent(seeded: DemoServer) -> None:
    control(seeded, mode="unhealthy", component="agents")
    cycle()
    keys = set(agent_alerts())
    for name in ("content", "financial", "market", "compliance"):
        assert f"metric:agent_critique_iterations:agent:{name}" in keys
    assert "metric:agent_memory:agent:content" in keys  # 3.5x of 160 MB
    assert "metric:agent_run_duration:agent:content" in keys  # 9x of 42 s
    assert Agent.objects.get(slug="content").reported_error == "model router fallback chain exhausted"


def test_an_unreachable_product_is_recorded_on_the_agent(seeded: DemoServer) -> None:
    control(seeded, mode="down", component="agents")
    polling.poll(list(Agent.objects.all()))
    assert "RemoteProtocolError" in Agent.objects.get(slug="qa").poll_error


T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def runs(agent: Agent, minutes_ago: int, verdicts: str) -> None:
    AgentRun.objects.bulk_create(
        AgentRun(
            agent=agent,
            started_at=T0 - dt.timedelta(minutes=minutes_ago),
            duration_ms=30000,
            qa_verdict={"a": "approved", "r": "rejected"}[v],
            source="api",
        )
        for v in verdicts
    )


@override_settings(AGENT_QA_MIN_RUNS=10)
def test_qa_rejection_rate_over_the_window_with_a_minimum_of_runs() -> None:
    content = Agent.objects.get(slug="content")
    content.service = service("content-svc")
    content.save()
    key = "metric:agent_qa_rejection_rate:agent:content"
    runs(content, 50, "rrrr")  # 4 rejected 50 minutes ago
    runs(content, 5, "aaaa")  # 8 reviewed in the last hour: fewer than 10, no value
    with time_machine.travel(T0, tick=False):
        catalog.compute()
        evaluate()
        assert not MetricSeries.objects.filter(metric__key="agent_qa_rejection_rate").exists()
        runs(content, 1, "ar")  # 10 reviewed, 5 rejected: 50%
        catalog.compute()
        evaluate()
        alert = Alert.objects.get(dedup_key=key)
        assert alert.state == AlertState.FIRING and "50%" in alert.summary
    with time_machine.travel(T0 + dt.timedelta(minutes=15), tick=False):
        runs(content, -14, "aaaaaa")  # the four old rejections left the window: 1 of 12 rejected
        catalog.compute()
        evaluate()
        alert.refresh_from_db()
        assert alert.state == AlertState.RESOLVED
        series = MetricSeries.objects.get(metric__key="agent_qa_rejection_rate", label="agent:content")
        assert round(series.last_value, 1) == 8.3
    Metric.objects.filter(key="agent_qa_rejection_rate").update(window_minutes=600)  # the window is a row
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        catalog.compute()
        series.refresh_from_db()
        assert round(series.last_value, 1) == 31.2  # 5 of 16


@override_settings(LOG_METRIC_MIN_LINES=20)
def test_error_rate_per_service_from_its_logs() -> None:
    api, quiet = service("api"), service("quiet")
    now = timezone.now()
    lines = [LogLine(service=api, at=now, level="error" if i < 3 else "info", message="m") for i in range(100)]
    lines += [LogLine(service=quiet, at=now, level="error", message="m") for _ in range(5)]  # too few lines
    LogLine.objects.bulk_create(lines)
    catalog.compute(now)
    series = MetricSeries.objects.get(metric__key="log_error_rate")
    assert (series.label, series.service, series.last_value) == ("logs:api", api, 3.0)
    evaluate(now)  # pending: the metric's "for" is 5 minutes
    assert not Alert.objects.filter(dedup_key="metric:log_error_rate:logs:api").exists()
    with time_machine.travel(now + dt.timedelta(minutes=6), tick=False):
        catalog.compute()
        evaluate()
    assert Alert.objects.filter(dedup_key="metric:log_error_rate:logs:api", severity="critical").exists()


def test_the_agent_metrics_are_in_the_catalog_in_the_runbooks_words() -> None:
    labels = {m.key: (m.name, m.target_label, m.alert_label) for m in Metric.objects.filter(source_name="agents")}
    assert labels["agent_run_duration"][2] == ">5min"
    assert labels["agent_memory"][2] == ">500MB"
    assert labels["agent_qa_rejection_rate"][2] == ">30%"
    assert labels["agent_critique_iterations"][2] == ">3"
    names = {name for name, _t, _a in labels.values()}
    for expected in (
        "Content Agent: Generation Speed",
        "Content Agent: Quality Score",
        "Content Agent: Self-Critique Loop Time",
        "Financial Agent: Calculation Accuracy",
        "Financial Agent: Cost Tracking Updates",
        "Market Agent: Trend Detection Latency",
        "Market Agent: Accuracy Score",
        "Compliance Agent: Violation Detection Rate",
        "Compliance Agent: False Positive Percentage",
    ):
        assert expected in names
    for metric in Metric.objects.filter(source_name="agents"):
        metric.full_clean()
