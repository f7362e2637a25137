"""Choice sets shared by monitoring models, forms, filters and templates."""

from __future__ import annotations

from django.db import models


class ServiceKind(models.TextChoices):
    API = "api", "API"
    FRONTEND = "frontend", "Frontend"
    AGENT = "agent", "AI agent"
    MODEL_PROVIDER = "model_provider", "Model provider"
    DATABASE = "database", "Database"
    CACHE = "cache", "Cache"
    WORKER = "worker", "Worker"
    OTHER = "other", "Other"


class CheckType(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    TCP = "tcp", "TCP connect"
    POSTGRES = "postgres", "PostgreSQL (SELECT 1)"


class ServiceStatus(models.TextChoices):
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    PAUSED = "paused", "Paused"
    UNKNOWN = "unknown", "Unknown"


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
