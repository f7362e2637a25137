"""Choice sets of alerts: severity (and its rank), alert state and event kind, channel kind, notification state, recurrence."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertState(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertEventKind(models.TextChoices):
    FIRED = "fired", "Fired"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    COMMENT = "comment", "Comment"
    UPDATED = "updated", "Updated"
    ESCALATED = "escalated", "Escalated"
    REPEATED = "repeated", "Repeat reminder"


class ChannelKind(models.TextChoices):
    APPRISE = "apprise", "Apprise URL"
    EMAIL = "email", "Email"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class Recurrence(models.TextChoices):
    ONCE = "once", "One-off"
    WEEKLY = "weekly", "Weekly"


class WindowRecurrence(models.TextChoices):
    """How a maintenance window repeats (Uptime Kuma's recurring and cron maintenance)."""

    ONCE = "once", "Once"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (days of the week)"
    MONTHLY = "monthly", "Monthly (day of the month)"
    CRON = "cron", "Cron expression"
