"""Models of the maintenance app, one module per part (checklists, runbooks, incidents, ...)."""

from __future__ import annotations

from .audits import DependencyAudit, DependencyFinding
from .checklists import Checklist, ChecklistItem, ChecklistPeriod, PeriodItem, TickEvent
from .dbcare import VacuumRun
from .incidents import FollowUpAction, Incident, PostMortem
from .runbooks import ExecutionStep, Runbook, RunbookExecution, RunbookVersion
from .security import Rotation, RotationStep, Secret

__all__ = [
    "Checklist",
    "ChecklistItem",
    "ChecklistPeriod",
    "DependencyAudit",
    "DependencyFinding",
    "ExecutionStep",
    "FollowUpAction",
    "Incident",
    "PeriodItem",
    "PostMortem",
    "Rotation",
    "RotationStep",
    "Runbook",
    "RunbookExecution",
    "RunbookVersion",
    "Secret",
    "TickEvent",
    "VacuumRun",
]
