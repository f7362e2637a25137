"""Incidents (an execution started from an alert) and their post-mortems with follow-up actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..choices import IncidentState


class Incident(models.Model):
    """Something that broke and someone handled, opened when an execution starts from an alert.

    The alert is kept by id and a copy of what it said (no foreign key into monitoring: this app
    reads alerts only through ``monitoring.public``), so the incident outlives alert pruning.
    """

    title = models.CharField(max_length=300)
    state = models.CharField(max_length=8, choices=IncidentState.choices, default=IncidentState.OPEN, db_index=True)
    alert_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    alert_key = models.CharField(max_length=200, blank=True)
    alert_severity = models.CharField(max_length=10, blank=True)
    alert_started_at = models.DateTimeField(null=True, blank=True)
    service_name = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"Incident #{self.pk}: {self.title}"


class PostMortem(models.Model):
    """What happened and what to change, as the runbook's Emergency Rollback step 6 asks."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField()
    impact = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    prevent = models.TextField(blank=True, help_text="What to do so it does not happen again.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Post-mortem of {self.incident}"


class FollowUpAction(models.Model):
    """One follow-up action of a post-mortem, with its owner."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="actions")
    text = models.CharField(max_length=300)
    owner = models.CharField(max_length=150)
    due = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["postmortem", "position", "id"]

    def __str__(self) -> str:
        return self.text
