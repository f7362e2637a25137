"""Database care: VACUUM ANALYZE runs asked for from the console and what they did."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..security_choices import VacuumState


class VacuumRun(models.Model):
    """One ``VACUUM ANALYZE`` of one table or a whole database, run as a Celery task.

    Claimed by the task with a compare-and-set from queued to running (a redelivered task finds
    it running or finished and does nothing); the outcome, duration and dead rows before are kept.
    """

    target = models.CharField(max_length=100, help_text="'portal' or a backup source's slug")
    target_label = models.CharField(max_length=200, blank=True)
    table = models.CharField(max_length=200, blank=True, help_text="schema.table; empty for the whole database")
    state = models.CharField(max_length=10, choices=VacuumState.choices, default=VacuumState.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    dead_rows_before = models.BigIntegerField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("view_databasecare", "Can read database care (sizes, slow statements, connections)")]

    def __str__(self) -> str:
        return f"VACUUM ANALYZE {self.table or '(all tables)'} on {self.target} ({self.state})"
