"""The secrets and keys registry: what must be rotated, when it last was, and rotation walks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ..security_choices import DueState, RotationState, RotationStepName, SecretKind

DUE_SOON_DAYS = 14


class Secret(models.Model):
    """One secret or key the team must rotate: an API key, a channel token, a credential variable.

    Never the secret itself: at most a ``fingerprint`` the owner can recompute (its last four
    characters, or the start of its SHA-256). Rows the portal lists by itself (its API tokens,
    channel secrets, backup credential variables, TLS certificates) carry ``auto_key``; their
    age comes from what the portal observes (``observed_hash``, a keyed hash that changes when
    the value does; never shown).
    """

    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=12, choices=SecretKind.choices, default=SecretKind.MANUAL, db_index=True)
    where_used = models.CharField(max_length=300, blank=True)
    owner = models.CharField(max_length=150, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    last_rotated_at = models.DateTimeField(default=timezone.now)
    rotation_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)], help_text="The runbook: every 90 days."
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="TLS certificates: when it expires.")
    notes = models.TextField(blank=True)
    auto_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    observed_hash = models.CharField(max_length=64, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def due_at(self) -> dt.datetime:
        if self.expires_at is not None:
            return self.expires_at
        return self.last_rotated_at + dt.timedelta(days=self.rotation_days)

    def due_state(self, now: dt.datetime | None = None) -> str:
        now = now or timezone.now()
        if self.due_at <= now:
            return DueState.OVERDUE
        if self.due_at <= now + dt.timedelta(days=DUE_SOON_DAYS):
            return DueState.DUE_SOON
        return DueState.OK

    def age_days(self, now: dt.datetime | None = None) -> int:
        return ((now or timezone.now()) - self.last_rotated_at).days

    def days_left(self, now: dt.datetime | None = None) -> int:
        return (self.due_at - (now or timezone.now())).days

    @property
    def rotatable(self) -> bool:
        return self.kind != SecretKind.CERTIFICATE and self.retired_at is None

    def open_rotation(self) -> Rotation | None:
        return self.rotations.filter(state=RotationState.OPEN).first()


class Rotation(models.Model):
    """One walk through the runbook's API Key Rotation for a secret: four steps, each ticked by someone.

    The secret's rotation date moves only when the fourth step is ticked (``Rotation.tick``).
    """

    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="rotations")
    state = models.CharField(max_length=10, choices=RotationState.choices, default=RotationState.OPEN, db_index=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    new_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["secret"], condition=models.Q(state="open"), name="one_open_rotation_per_secret"
            )
        ]

    def __str__(self) -> str:
        return f"Rotation of {self.secret} ({self.state})"

    def step_rows(self) -> list[RotationStep]:
        return list(self.steps.order_by("position"))


class RotationStep(models.Model):
    """One of the four steps of a rotation, with who ticked it and when."""

    # No index of its own: the unique (rotation, step) constraint's index starts with it.
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="steps", db_index=False)
    step = models.CharField(max_length=10, choices=RotationStepName.choices)
    position = models.PositiveSmallIntegerField()
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [models.UniqueConstraint(fields=["rotation", "step"], name="one_row_per_rotation_step")]

    def __str__(self) -> str:
        return f"{self.get_step_display()} ({'done' if self.done_at else 'open'})"

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "label": self.get_step_display(),
            "done_by": self.done_by.get_username() if self.done_by else None,
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "note": self.note,
        }
