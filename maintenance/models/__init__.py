"""Models of the maintenance app, one module per part (checklists, runbooks, incidents, ...)."""

from __future__ import annotations

from .checklists import Checklist, ChecklistItem, ChecklistPeriod, PeriodItem, TickEvent
from .incidents import FollowUpAction, Incident, PostMortem
from .runbooks import ExecutionStep, Runbook, RunbookExecution, RunbookVersion

__all__ = [
    "Checklist",
    "ChecklistItem",
    "ChecklistPeriod",
    "ExecutionStep",
    "FollowUpAction",
    "Incident",
    "PeriodItem",
    "PostMortem",
    "Runbook",
    "RunbookExecution",
    "RunbookVersion",
    "TickEvent",
]
