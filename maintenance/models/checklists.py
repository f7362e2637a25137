"""Checklists: the runbook's Regular Maintenance Tasks, their items, the periods beat opens and ticks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..choices import Cadence, TickAction, TickSource


class Checklist(models.Model):
    """One cadence of the runbook's "Regular Maintenance Tasks" (Daily, Weekly, Monthly, Quarterly).

    A checklist is a template: its items are copied into a ChecklistPeriod when beat opens the
    period, so editing the template never changes a period that is already open or closed.
    """

    cadence = models.CharField(max_length=10, choices=Cadence.choices, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    enabled = models.BooleanField(default=True, help_text="Disabled checklists open no new periods.")

    class Meta:
        ordering = ["position", "id"]
        permissions = [("tick_checklist", "Can tick and untick checklist items")]

    def __str__(self) -> str:
        return self.name

    def active_items(self) -> models.QuerySet[ChecklistItem]:
        return self.items.filter(retired_at__isnull=True).order_by("position", "id")


class ChecklistItem(models.Model):
    """One task of a checklist template, in the runbook's words ("Check service health dashboard").

    ``evidence`` names the provider (``monitoring.public.evidence``) whose facts are shown next
    to the box and captured with the tick. Items are retired, never deleted, so past periods
    keep pointing at them.
    """

    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    evidence = models.CharField(max_length=60, blank=True, help_text="Name of the evidence provider, if any.")
    help_text = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["checklist", "position", "id"]

    def __str__(self) -> str:
        return self.text


class ChecklistPeriod(models.Model):
    """One opening of a checklist: a day, ISO week, month or quarter in TIME_ZONE, due at its end.

    Unique per (checklist, starts_at), so opening is idempotent however often beat runs.
    """

    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="periods")
    key = models.CharField(max_length=16, help_text="2026-12-01, 2026-W49, 2026-12 or 2026-Q4")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True, help_text="Due: the end of the period.")
    opened_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When the last open item was ticked.")
    overdue_at = models.DateTimeField(
        null=True, blank=True, help_text="When the period was found ended with open items (alert raised)."
    )
    overdue_items = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-starts_at", "checklist__position"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "starts_at"], name="maintenance_one_period_per_start")
        ]
        indexes = [models.Index(fields=["checklist", "-starts_at"])]

    def __str__(self) -> str:
        return f"{self.checklist.name} {self.key}"


class PeriodItem(models.Model):
    """A checklist item as it stands in one period: its text when the period opened and its tick.

    ``evidence`` holds what the provider answered when the box was ticked (with ``evidence_at``);
    a tick without fresh evidence is allowed and shown as such (``evidence_fresh``).
    """

    period = models.ForeignKey(ChecklistPeriod, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="period_items")
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    evidence_name = models.CharField(max_length=60, blank=True)
    ticked_at = models.DateTimeField(null=True, blank=True)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticked_by_name = models.CharField(max_length=150, blank=True)
    tick_source = models.CharField(max_length=10, choices=TickSource.choices, blank=True)
    tick_ref = models.CharField(max_length=60, blank=True, help_text="e.g. the drill that ticked it")
    note = models.TextField(blank=True)
    evidence = models.JSONField(null=True, blank=True)
    evidence_at = models.DateTimeField(null=True, blank=True)
    evidence_fresh = models.BooleanField(default=False)

    class Meta:
        ordering = ["period", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["period", "item"], name="maintenance_item_once_per_period")]

    def __str__(self) -> str:
        return f"{self.period}: {self.text}"

    @property
    def is_ticked(self) -> bool:
        return self.ticked_at is not None


class TickEvent(models.Model):
    """Who ticked or unticked what, when, with which note: the history kept beside the audit log."""

    period_item = models.ForeignKey(PeriodItem, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=8, choices=TickAction.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=TickSource.choices, default=TickSource.PERSON)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name or self.source} {self.action} {self.period_item}"
