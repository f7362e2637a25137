"""Choice sets of the maintenance app: cadences, tick actions, step states, outcomes."""

from __future__ import annotations

from django.db import models


class Cadence(models.TextChoices):
    """How often a checklist is opened: the runbook's "Regular Maintenance Tasks" headings."""

    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class TickAction(models.TextChoices):
    TICK = "tick", "Ticked"
    UNTICK = "untick", "Unticked"


class TickSource(models.TextChoices):
    """Who ticked: a person in the console, or a passing restore drill."""

    PERSON = "person", "Person"
    DRILL = "drill", "Restore drill"


class RunbookKind(models.TextChoices):
    RUNBOOK = "runbook", "Runbook"
    TROUBLESHOOTING = "troubleshooting", "Troubleshooting guide"
    PROCEDURE = "procedure", "Procedure"


class ExecutionState(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Outcome(models.TextChoices):
    """How an execution ended."""

    RESOLVED = "resolved", "Resolved"
    MITIGATED = "mitigated", "Mitigated (not fully resolved)"
    FAILED = "failed", "Did not help"
    ABANDONED = "abandoned", "Abandoned"


class IncidentState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
