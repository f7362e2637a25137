"""RestoreRun: one real restore of a backup by an admin (a new database, a replaced one, or a path)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ..choices import ACTIVE_RESTORE_STATES, RestoreMode, RestoreState, Trigger
from .config import Policy
from .runs import BackupRun, Timed


class RestoreRun(Timed, models.Model):
    """A restore of one backup into a real target, with its steps, timings, checks and log.

    ``target`` is the new database's name, the name of the database being replaced (which the
    variable ``target_env`` must point at), or an absolute path (SQLite file, media directory).
    ``forced`` records that an admin ticked "restore anyway" for a backup not verified good;
    ``moved_aside`` is where an existing SQLite file or media directory was kept.
    """

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="restores")
    run = models.ForeignKey(BackupRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="restores")
    mode = models.CharField(max_length=10, choices=RestoreMode.choices)
    target = models.CharField(max_length=500)
    target_env = models.CharField("target URL variable", max_length=100, blank=True)
    forced = models.BooleanField("restore anyway (backup not verified good)", default=False)
    state = models.CharField(max_length=10, choices=RestoreState.choices, default=RestoreState.QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="[{name, label, seconds, ok, detail}]")
    tables = models.JSONField(default=list, blank=True, help_text="[{table, expected, actual, ok}]")
    smoke = models.JSONField(default=list, blank=True, help_text="[{query, ok, value}]")
    moved_aside = models.CharField(max_length=600, blank=True)
    log = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy"],
                condition=Q(state__in=[s.value for s in ACTIVE_RESTORE_STATES]),
                name="backups_one_active_restore_per_policy",
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy.slug} restore #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("backups:restore_run", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_RESTORE_STATES
