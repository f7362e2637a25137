"""Alerts and their timelines.

At most one open (firing or acknowledged) alert exists per dedup key, enforced by a partial
unique constraint. Every transition is a compare-and-set update that also writes an
AlertEvent; notifications are sent from those event rows after commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import AlertEventKind, AlertState, Severity


class Alert(models.Model):
    """Something that needs a person: a service down, a metric past its threshold, a failed backup."""

    dedup_key = models.CharField(
        max_length=200, db_index=True, help_text="e.g. service:api:down, metric:error_rate:api"
    )
    source = models.CharField(max_length=50, help_text="monitoring, metrics, backups, deployments, ...")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.CRITICAL)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    service = models.ForeignKey(
        "monitoring.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    runbook = models.CharField(
        max_length=100, blank=True, help_text="Title of the matching runbook, e.g. 'Service Is Down'."
    )
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.FIRING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notification_count = models.PositiveIntegerField(default=0)
    # Why notifications for this alert are held right now (silence, maintenance, parent down), as
    # last seen by the notifier; empty when nothing holds it.
    held_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"], condition=~Q(state="resolved"), name="monitoring_one_open_alert_per_key"
            )
        ]
        permissions = [
            ("acknowledge_alert", "Can acknowledge an alert"),
            ("resolve_alert", "Can resolve an alert by hand"),
            ("comment_alert", "Can comment on an alert"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.state != AlertState.RESOLVED

    def _transition(self, old_states: list[str], kind: str, actor: Any, note: str, **changes: Any) -> bool:
        """Compare-and-set from one of ``old_states``; on success write the event. Returns whether it moved."""
        with transaction.atomic():
            moved = Alert.objects.filter(pk=self.pk, state__in=old_states).update(**changes)
            if moved != 1:
                self.refresh_from_db()
                return False
            AlertEvent.objects.create(alert=self, kind=kind, actor=actor, note=note[:2000])
        self.refresh_from_db()
        return True

    def acknowledge(self, actor: Any, note: str = "") -> bool:
        return self._transition(
            [AlertState.FIRING],
            AlertEventKind.ACKNOWLEDGED,
            actor,
            note,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_at=timezone.now(),
            acknowledged_by=actor,
        )

    def resolve(self, actor: Any = None, note: str = "") -> bool:
        """Resolve by hand (actor given) or automatically (actor None)."""
        return self._transition(
            [AlertState.FIRING, AlertState.ACKNOWLEDGED],
            AlertEventKind.RESOLVED,
            actor,
            note or ("resolved automatically" if actor is None else ""),
            state=AlertState.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=actor,
        )

    def comment(self, actor: Any, note: str) -> AlertEvent:
        return AlertEvent.objects.create(alert=self, kind=AlertEventKind.COMMENT, actor=actor, note=note[:2000])


class AlertEvent(models.Model):
    """One entry on an alert's timeline. Notifications are sent for fired/acknowledged/resolved events."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=14, choices=AlertEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # Set when the notifier has fanned this event out to channels (claimed with a conditional update).
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What the notifier did with it when it sent nothing (held, resolved before it could be sent...).
    dispatch_note = models.CharField(max_length=200, blank=True)
    # Repeat reminders and escalations are addressed to one channel; ``sequence`` numbers the
    # repeats, so each (alert, channel, kind, sequence) exists once however many workers run.
    channel = models.ForeignKey(
        "monitoring.NotificationChannel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "kind", "sequence"],
                condition=Q(channel__isnull=False),
                name="monitoring_one_channel_event_per_sequence",
            )
        ]
        indexes = [
            models.Index(fields=["at"], condition=Q(dispatched_at__isnull=True), name="monitoring_event_undispatched")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"
