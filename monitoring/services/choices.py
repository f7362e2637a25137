"""Choice sets of services: kind, check type, status, history resolution, deployment status,
heartbeat schedules and pings."""

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
    HEARTBEAT = "heartbeat", "Heartbeat (the job pings the portal)"


class HeartbeatSchedule(models.TextChoices):
    """When a heartbeat check expects its next ping: every period, or at each cron time."""

    PERIOD = "period", "Every period"
    CRON = "cron", "Cron expression"


class PingKind(models.TextChoices):
    """What one ping of a heartbeat check reported."""

    SUCCESS = "success", "Success"
    START = "start", "Started"
    FAIL = "fail", "Failure"


class ServiceStatus(models.TextChoices):
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    PAUSED = "paused", "Paused"
    UNKNOWN = "unknown", "Unknown"


class Resolution(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class DeploymentStatus(models.TextChoices):
    STARTED = "started", "Started"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
