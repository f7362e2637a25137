"""Log retention: by age and by count per service, the newest lines kept; old runs pruned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from monitoring.agents.retention import prune
from monitoring.models import Agent, AgentRun, LogLine
from tests.agents.helpers import service

pytestmark = pytest.mark.django_db


@override_settings(LOG_RETENTION_DAYS=2, LOG_MAX_LINES_PER_SERVICE=5, AGENT_RUN_RETENTION_DAYS=3)
def test_logs_are_kept_by_age_and_by_count_per_service() -> None:
    now = timezone.now()
    busy, quiet = service("busy"), service("quiet")
    lines = [LogLine(service=busy, at=now - dt.timedelta(minutes=i), level="info", message=f"b{i}") for i in range(8)]
    lines += [LogLine(service=quiet, at=now - dt.timedelta(days=d), level="info", message=f"q{d}") for d in (0, 1, 3)]
    LogLine.objects.bulk_create(lines)
    agent = Agent.objects.get(slug="content")
    AgentRun.objects.create(agent=agent, started_at=now - dt.timedelta(days=4), duration_ms=1, source="api")
    AgentRun.objects.create(agent=agent, started_at=now - dt.timedelta(days=1), duration_ms=1, source="api")
    stats = prune(now)
    assert stats["logs_aged"] == 1 and stats["logs_over_count"] == 3 and stats["runs"] == 1
    assert sorted(LogLine.objects.filter(service=busy).values_list("message", flat=True)) == [f"b{i}" for i in range(5)]
    assert sorted(LogLine.objects.filter(service=quiet).values_list("message", flat=True)) == ["q0", "q1"]
    assert AgentRun.objects.count() == 1
