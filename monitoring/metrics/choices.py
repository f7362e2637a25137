"""Choice sets of metrics: unit, direction, scope, source kind, series state."""

from __future__ import annotations

from django.db import models


class MetricUnit(models.TextChoices):
    MILLISECONDS = "ms", "milliseconds"
    PERCENT = "percent", "percent"
    COUNT = "count", "count"
    HOURS = "hours", "hours"
    MEGABYTES = "MB", "megabytes"


class Direction(models.TextChoices):
    ABOVE = "above", "Higher is worse (alert above the threshold)"
    BELOW = "below", "Lower is worse (alert below the threshold)"


class MetricScope(models.TextChoices):
    SYSTEM = "system", "Whole system"
    SERVICE = "service", "Per service"


class MetricSourceKind(models.TextChoices):
    PROBES = "probes", "Computed from probe rollups"
    COLLECTOR = "collector", "Collected on each worker host"
    PUSH = "push", "Pushed through the ingest API"
    PROVIDER = "provider", "Provided by another app"


class SeriesState(models.TextChoices):
    OK = "ok", "OK"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    NODATA = "nodata", "No data"
