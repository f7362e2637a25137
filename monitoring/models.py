"""Every monitoring model, re-exported from the part that defines it (services, alerts, metrics)."""

from __future__ import annotations

from monitoring.alerts.models import (
    Alert,
    AlertEvent,
    MaintenanceWindow,
    Notification,
    NotificationAttempt,
    NotificationChannel,
    Silence,
)
from monitoring.metrics.models import Metric, MetricSample, MetricSeries
from monitoring.services.choices import Resolution
from monitoring.services.models import (
    CheckResult,
    CheckRollup,
    Deployment,
    HeartbeatPing,
    Service,
    ServiceFlip,
    Tag,
)

__all__ = [
    "Alert",
    "AlertEvent",
    "CheckResult",
    "CheckRollup",
    "Deployment",
    "HeartbeatPing",
    "MaintenanceWindow",
    "Metric",
    "MetricSample",
    "MetricSeries",
    "Notification",
    "NotificationAttempt",
    "NotificationChannel",
    "Resolution",
    "Service",
    "ServiceFlip",
    "Silence",
    "Tag",
]
