"""Shared objects for maintenance tests: the shipped content, an open period, an execution, an incident."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from maintenance.models import Checklist, ChecklistPeriod, Incident, PeriodItem, Runbook, RunbookExecution
from maintenance.periods import bounds_for, open_period
from maintenance.seed import ensure_content


def daily_period(now: Any = None) -> ChecklistPeriod:
    ensure_content()
    checklist = Checklist.objects.get(cadence="daily")
    period, _ = open_period(checklist, bounds_for("daily", now or timezone.now()))
    return period


def daily_item(text: str = "Check service health dashboard") -> PeriodItem:
    return daily_period().items.get(text=text)


def runbook(slug: str = "service-is-down") -> Runbook:
    ensure_content()
    return Runbook.objects.select_related("current").get(slug=slug)


def execution(user: Any = None, *, incident: bool = False) -> RunbookExecution:
    from maintenance.runbooks import start_execution

    ex = start_execution(runbook(), user)
    if incident:
        ex.incident = Incident.objects.create(title="api down", alert_key="service:api:down")
        ex.save(update_fields=["incident"])
    return ex
