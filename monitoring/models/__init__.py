"""Monitoring models, one module per area; import from here."""

from __future__ import annotations

from .alerts import Alert, AlertEvent
from .deployments import Deployment
from .metrics import Metric, MetricSample, MetricSeries
from .notifications import MaintenanceWindow, Notification, NotificationAttempt, NotificationChannel, Silence
from .services import Service, ServiceFlip, Tag

__all__ = [
    "Alert",
    "AlertEvent",
    "Deployment",
    "MaintenanceWindow",
    "Metric",
    "MetricSample",
    "MetricSeries",
    "Notification",
    "NotificationAttempt",
    "NotificationChannel",
    "Service",
    "ServiceFlip",
    "Silence",
    "Tag",
]
