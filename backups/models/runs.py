"""The catalog: one BackupRun per attempt and one RestoreDrill per drill or restore."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ..choices import (
    ACTIVE_DRILL_STATES,
    ACTIVE_RUN_STATES,
    Compression,
    DrillKind,
    DrillState,
    RunState,
    SourceKind,
    Trigger,
)
from .config import Destination, Policy

LOG_LIMIT = 200_000  # characters of log kept on a row; the head is trimmed first


class Timed:
    """``duration`` of a job row with ``started_at``/``finished_at``: seconds so far while it runs."""

    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()


class BackupRun(Timed, models.Model):
    """One backup attempt of a policy, from queued to good (verified) or failed.

    A run counts as good only after verification: the stored object re-read and hashed, fully
    decompressed and, for PostgreSQL, read end to end by ``pg_restore -f /dev/null``.
    ``location`` is relative to ``destination`` (the policy's destination when the run began).
    """

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="runs")
    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="runs")
    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True)

    location = models.CharField(max_length=500, blank=True)
    compression = models.CharField(max_length=8, choices=Compression.choices, default=Compression.ZSTD)
    compression_level = models.PositiveSmallIntegerField(default=3)
    bytes_in = models.BigIntegerField(default=0, help_text="Uncompressed bytes read from the source.")
    bytes_out = models.BigIntegerField(default=0, help_text="Compressed bytes stored.")
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True, help_text="Row counts, files, snapshot.")
    tool_versions = models.JSONField(default=dict, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="[{name, seconds, ok, detail}]")
    log = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    verified_at = models.DateTimeField(null=True, blank=True)
    verify_count = models.PositiveIntegerField(default=0)
    kept_reasons = models.JSONField(default=list, blank=True, help_text="Why the last prune kept it.")
    pruned_at = models.DateTimeField(null=True, blank=True)
    # Things to remove if the worker died: {"partial": key of a temporary object, "upload_id": ...}.
    cleanup = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy"],
                condition=Q(state__in=[s.value for s in ACTIVE_RUN_STATES]),
                name="backups_one_active_run_per_policy",
            )
        ]
        indexes = [models.Index(fields=["policy", "state", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.policy.slug} run #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("backups:run", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_RUN_STATES

    @property
    def has_artifact(self) -> bool:
        return self.state in (RunState.GOOD, RunState.VERIFYING) and bool(self.location)

    def step_seconds(self, name: str) -> float | None:
        for step in self.steps:
            if step.get("name") == name:
                return step.get("seconds")
        return None

    @property
    def throughput(self) -> float | None:
        """Uncompressed bytes per second of the dump step."""
        seconds = self.step_seconds("dump")
        if not seconds or not self.bytes_in:
            return None
        return self.bytes_in / seconds

    @property
    def ratio(self) -> float | None:
        return self.bytes_out / self.bytes_in if self.bytes_in else None

    def age_hours(self, now: dt.datetime | None = None) -> float | None:
        if self.started_at is None:
            return None
        return ((now or timezone.now()) - self.started_at).total_seconds() / 3600


class RestoreDrill(Timed, models.Model):
    """A restore drill (the runbook's monthly "test recovery procedure") or a restore by an admin.

    Every step is recorded with its timing and result, so the row is the documented result the
    runbook asks for. A drill drops its scratch database at the end; a restore keeps it.
    """

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="drills")
    run = models.ForeignKey(BackupRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="drills")
    kind = models.CharField(max_length=10, choices=DrillKind.choices, default=DrillKind.DRILL)
    state = models.CharField(max_length=10, choices=DrillState.choices, default=DrillState.QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_name = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="[{name, label, seconds, ok, detail}]")
    tables = models.JSONField(default=list, blank=True, help_text="[{table, expected, actual, ok}]")
    smoke = models.JSONField(default=list, blank=True, help_text="[{query, ok, value}]")
    log = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    target_dropped = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy"],
                condition=Q(state__in=[s.value for s in ACTIVE_DRILL_STATES]),
                name="backups_one_active_drill_per_policy",
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy.slug} {self.kind} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("backups:drill", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_DRILL_STATES
