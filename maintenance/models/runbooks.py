"""Runbooks as versioned Markdown, and executions: a person following one version step by step."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..choices import ExecutionState, Outcome, RunbookKind, StepState


class Runbook(models.Model):
    """A runbook, troubleshooting guide or procedure of the runbook document ("Service Is Down").

    Its text lives in RunbookVersion rows: every edit is a new version, so an execution keeps
    the exact steps it followed.
    """

    title = models.CharField(max_length=100, unique=True, help_text="As alerts name it, e.g. 'Service Is Down'.")
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=RunbookKind.choices, default=RunbookKind.RUNBOOK)
    position = models.PositiveSmallIntegerField(default=0)
    current = models.ForeignKey(
        "maintenance.RunbookVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "title"]
        permissions = [("execute_runbook", "Can start and tick runbook executions")]

    def __str__(self) -> str:
        return self.title


class RunbookVersion(models.Model):
    """One saved text of a runbook (Markdown) and the steps parsed from it; never changed after saving."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField(help_text="Markdown: the intro, then the steps as a numbered list.")
    steps = models.JSONField(default=list, help_text="[{text, code}] parsed from the body's numbered list")
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150, blank=True)
    change_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"], name="maintenance_runbook_version_once")]

    def __str__(self) -> str:
        return f"{self.runbook} v{self.number}"


class RunbookExecution(models.Model):
    """One run through a runbook version by a person; from an alert it belongs to an incident."""

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="executions")
    version = models.ForeignKey(RunbookVersion, on_delete=models.PROTECT, related_name="executions")
    incident = models.ForeignKey(
        "maintenance.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    state = models.CharField(max_length=10, choices=ExecutionState.choices, default=ExecutionState.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_name = models.CharField(max_length=150, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.runbook} #{self.pk}"


class ExecutionStep(models.Model):
    """One step of an execution, copied from its version: done (with note and output) or skipped (with reason)."""

    execution = models.ForeignKey(RunbookExecution, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    code = models.TextField(blank=True)
    state = models.CharField(max_length=8, choices=StepState.choices, default=StepState.PENDING)
    note = models.TextField(blank=True)
    output = models.TextField(blank=True, help_text="Pasted command output (bounded).")
    output_truncated = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["execution", "position"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "position"], name="maintenance_execution_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.execution} step {self.position}"
