"""Every monitoring model, re-exported from the part that defines it (services, alerts, metrics, agents)."""

from __future__ import annotations

from monitoring.agents.models import Agent, AgentRun, AgentRunHour, LogLine, ModelCall, ModelProvider, ProviderCheck
from monitoring.alerts.models import (
    Alert,
    AlertEvent,
    MaintenanceWindow,
    Notification,
    NotificationAttempt,
    NotificationChannel,
    Silence,
)
from monitoring.metrics.models import BurnRateRule, Metric, MetricSample, MetricSeries
from monitoring.services.choices import Resolution
from monitoring.services.models import (
    CheckResult,
    CheckRollup,
    Deployment,
    HeartbeatPing,
    Service,
    ServiceFlip,
    Tag,
    Watermark,
)

__all__ = [
    "Agent",
    "AgentRun",
    "AgentRunHour",
    "Alert",
    "AlertEvent",
    "BurnRateRule",
    "CheckResult",
    "CheckRollup",
    "Deployment",
    "HeartbeatPing",
    "LogLine",
    "MaintenanceWindow",
    "Metric",
    "MetricSample",
    "MetricSeries",
    "ModelCall",
    "ModelProvider",
    "Notification",
    "NotificationAttempt",
    "NotificationChannel",
    "ProviderCheck",
    "Resolution",
    "Service",
    "ServiceFlip",
    "Silence",
    "Tag",
    "Watermark",
]
