"""Check history: raw probe results (kept RAW_RETENTION_DAYS) and minute/hour/day rollups."""

from __future__ import annotations

import datetime as dt

from django.db import models

from ..histogram import Histogram


class CheckResult(models.Model):
    """One probe of one service: when, whether it passed, how long it took and why it failed."""

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="results")
    at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    degraded = models.BooleanField(default=False, help_text="Passed, but slower than the service's degraded latency.")
    latency_ms = models.FloatField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"], name="mon_result_service_at")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"

    @property
    def outcome(self) -> str:
        if not self.ok:
            return "down"
        return "degraded" if self.degraded else "up"


class Resolution(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


RESOLUTION_STEP = {
    Resolution.MINUTE: dt.timedelta(minutes=1),
    Resolution.HOUR: dt.timedelta(hours=1),
    Resolution.DAY: dt.timedelta(days=1),
}


class CheckRollup(models.Model):
    """The results of one service in one minute, hour or day: counts and a latency histogram.

    ``histogram`` is the sparse form of monitoring.histogram.Histogram over the latencies of
    passed probes; rows of any resolution merge by adding histograms. p50/p95/p99 of the row
    itself are stored too, so sparklines read three floats instead of a histogram.
    """

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="rollups")
    resolution = models.CharField(max_length=6, choices=Resolution.choices)
    start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0.0)
    latency_max = models.FloatField(null=True, blank=True)
    histogram = models.JSONField(default=dict, blank=True)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["service", "resolution", "start"]
        constraints = [
            models.UniqueConstraint(fields=["service", "resolution", "start"], name="mon_rollup_one_per_bucket")
        ]
        indexes = [
            models.Index(fields=["resolution", "start"], name="mon_rollup_resolution_start"),
            # The dashboard reads 24 hourly rows of every service: with all its columns in a
            # partial index, that is an index-only scan (and a cheap plan) even next to
            # millions of minute rows.
            models.Index(
                fields=["start", "service", "count", "failures", "p95_ms"],
                condition=models.Q(resolution="hour"),
                name="mon_rollup_hour_board",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.resolution} {self.start:%Y-%m-%d %H:%M}"

    def hist(self) -> Histogram:
        return Histogram.from_json(self.histogram, self.latency_max)

    @property
    def uptime(self) -> float | None:
        return None if not self.count else (self.count - self.failures) / self.count
