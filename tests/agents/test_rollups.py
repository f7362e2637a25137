"""Hourly rollups of agent runs: idempotent, late runs recomputed into their hour, p95 to one bucket."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from monitoring.agents import rollups
from monitoring.models import Agent, AgentRun, AgentRunHour
from monitoring.services.histogram import exact_quantile

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 12, 30, tzinfo=dt.UTC)


def add(agent: Agent, at: dt.datetime, ms: float, **extra: object) -> None:
    AgentRun.objects.create(agent=agent, started_at=at, duration_ms=ms, source="api", received_at=T0, **extra)


def test_rollups_are_idempotent_and_pick_up_late_runs() -> None:
    content = Agent.objects.get(slug="content")
    durations = [1000 + 97 * i for i in range(100)]
    with time_machine.travel(T0, tick=False):
        for i, ms in enumerate(durations):
            add(
                content,
                T0 - dt.timedelta(minutes=i % 20),
                ms,
                provider="openai",
                qa_verdict="rejected" if i % 4 == 0 else "approved",
            )
        add(content, T0 - dt.timedelta(hours=3), 400000, ok=False, provider="ollama", tokens_in=10, cost_usd=0.5)
        assert rollups.rollup() == 2
        assert rollups.rollup() == 2  # recomputed, not added twice
        hour = AgentRunHour.objects.get(agent=content, provider="openai")
        assert (hour.hour, hour.runs, hour.reviewed, hour.rejected) == (T0.replace(minute=0), 100, 100, 25)
        summary = rollups.summaries(rollups.hour_rows(T0 - dt.timedelta(hours=24), T0))[content.pk]
        assert summary.runs == 101 and summary.failed == 1
        exact = exact_quantile([*durations, 400000], 0.95)
        assert abs(summary.p95_ms - exact) / exact < 0.1
    late = T0 + dt.timedelta(minutes=10)
    with time_machine.travel(late, tick=False):
        AgentRun.objects.create(
            agent=content, started_at=T0 - dt.timedelta(hours=3), duration_ms=5, provider="ollama", source="otlp"
        )
        rollups.rollup()
        assert AgentRunHour.objects.get(agent=content, provider="ollama").runs == 2
        assert AgentRunHour.objects.get(agent=content, provider="openai").runs == 100
