"""Monitoring models, one module per area; import from here."""

from __future__ import annotations

from .alerts import Alert, AlertEvent
from .deployments import Deployment
from .history import CheckResult, CheckRollup, Resolution
from .metrics import Metric, MetricSample, MetricSeries
from .notifications import MaintenanceWindow, Notification, NotificationAttempt, NotificationChannel, Silence
from .services import Service, ServiceFlip, Tag

__all__ = [
    "Alert",
    "AlertEvent",
    "CheckResult",
    "CheckRollup",
    "Deployment",
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
