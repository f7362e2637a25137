"""The metric catalog (the runbook's "Metrics to Track"), its series, samples and evaluation state."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from monitoring.alerts.choices import Severity
from monitoring.metrics.choices import Direction, MetricScope, MetricSourceKind, MetricUnit, SeriesState
from monitoring.services.thresholds import Thresholds


def format_value(value: float | None, unit: str, *, precise: bool = False) -> str:
    """A value in the runbook's own notation: 500ms, 2s, 0.1%, 99.9%, 50, 24h."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if precise:
        # Enough digits to tell 99.86% from the 99.9% target, no more.
        if unit == MetricUnit.MILLISECONDS:
            return f"{round(value / 1000, 2):g}s" if value >= 1000 else f"{round(value):g}ms"
        if unit == MetricUnit.PERCENT:
            value = round(value, 3 if abs(value) < 1 else 2)
        else:
            value = round(value, 2 if unit == MetricUnit.HOURS else 1)
    if unit == MetricUnit.MILLISECONDS:
        if value >= 60000 and value % 60000 == 0:
            return f"{value / 60000:g}min"  # the runbook's "5 minutes"
        return f"{value / 1000:g}s" if value >= 1000 else f"{value:g}ms"
    if unit == MetricUnit.PERCENT:
        return f"{value:g}%"
    if unit == MetricUnit.HOURS:
        return f"{value:g}h"
    if unit == MetricUnit.MEGABYTES:
        return f"{value:g}MB"
    return f"{value:g}"


class Metric(models.Model):
    """One row of the runbook's metric table: what to watch, its target and when to alert.

    ``direction`` says which way is bad. A value past ``alert_threshold`` for ``for_seconds``
    fires an alert; it resolves once the value is back past ``clear_threshold`` (the alert
    threshold itself when no clear threshold is set). ``source`` says where values come from.
    """

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100, help_text="As the runbook names it, e.g. 'API Response Time (p95)'.")
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=10, choices=MetricUnit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.ABOVE)
    target = models.FloatField()
    alert_threshold = models.FloatField()
    clear_threshold = models.FloatField(
        null=True, blank=True, help_text="Resolve only once the value is back past this (hysteresis)."
    )
    for_seconds = models.PositiveIntegerField(
        default=300, help_text="How long the value must stay past the threshold before the alert fires."
    )
    scope = models.CharField(max_length=10, choices=MetricScope.choices, default=MetricScope.SYSTEM)
    source = models.CharField(max_length=10, choices=MetricSourceKind.choices)
    source_name = models.CharField(
        max_length=50, blank=True, help_text="Which computation, collector or provider gives the values."
    )
    window_minutes = models.PositiveIntegerField(
        default=15, help_text="Probe metrics: the period the value is computed over."
    )
    short_window_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Probe metrics: a shorter second window. The alert needs both windows past the threshold "
        "and clears when either is back, so it cannot open after a recovery (SRE Workbook: multiwindow).",
    )
    min_coverage_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="Probe metrics: evaluate only once the service has been watched for this share of the window "
        "(history before a service existed counts neither as downtime nor as uptime).",
    )
    stale_after_seconds = models.PositiveIntegerField(
        default=600, help_text="A value older than this counts as no data."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.CRITICAL)
    runbook = models.CharField(max_length=100, blank=True, help_text="Title of the matching runbook.")
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        values = {
            "target": self.target,
            "alert_threshold": self.alert_threshold,
            "clear_threshold": self.clear_threshold,
        }
        for field, value in values.items():
            if value is not None and not math.isfinite(value):
                errors[field] = "Give a finite number."
        if self.short_window_minutes is not None and self.short_window_minutes >= (self.window_minutes or 0):
            errors["short_window_minutes"] = "The short window must be shorter than the window."
        if errors:
            raise ValidationError(errors)
        above = self.direction == Direction.ABOVE
        if self.target is not None and self.alert_threshold is not None:
            if above and self.target > self.alert_threshold:
                errors["target"] = "When higher is worse, the target must not be above the alert threshold."
            if not above and self.target < self.alert_threshold:
                errors["target"] = "When lower is worse, the target must not be below the alert threshold."
        if self.clear_threshold is not None and self.alert_threshold is not None:
            if above and self.clear_threshold > self.alert_threshold:
                errors["clear_threshold"] = (
                    "When higher is worse, the clear threshold must not exceed the alert threshold."
                )
            if not above and self.clear_threshold < self.alert_threshold:
                errors["clear_threshold"] = (
                    "When lower is worse, the clear threshold must not be below the alert threshold."
                )
        if errors:
            raise ValidationError(errors)

    # The runbook's notation ---------------------------------------------------------------

    def fmt(self, value: float | None, *, precise: bool = True) -> str:
        return format_value(value, self.unit, precise=precise)

    @property
    def target_label(self) -> str:
        """'<500ms' (higher is worse) or '99.9%' (lower is worse), as the runbook writes it."""
        prefix = "<" if self.direction == Direction.ABOVE else ""
        return prefix + format_value(self.target, self.unit)

    @property
    def alert_label(self) -> str:
        return (">" if self.direction == Direction.ABOVE else "<") + format_value(self.alert_threshold, self.unit)

    @property
    def clear_label(self) -> str:
        threshold = self.effective_clear
        return ("≤" if self.direction == Direction.ABOVE else "≥") + format_value(threshold, self.unit)

    # Judging a value ------------------------------------------------------------------------

    @property
    def for_display(self) -> str:
        seconds = self.for_seconds
        if not seconds:
            return "at once"
        if seconds % 60:
            return f"after {seconds} s"
        return f"after {seconds // 60} min"

    @property
    def effective_clear(self) -> float:
        return self.alert_threshold if self.clear_threshold is None else self.clear_threshold

    def breaches(self, value: float) -> bool:
        if self.direction == Direction.ABOVE:
            return value > self.alert_threshold
        return value < self.alert_threshold

    def clears(self, value: float) -> bool:
        if self.direction == Direction.ABOVE:
            return value <= self.effective_clear
        return value >= self.effective_clear

    @property
    def error_budget(self) -> float | None:
        """The SLO's error budget as a share of checks (99.9% uptime target: 0.001), from the target row."""
        share = (100.0 - self.target) / 100.0 if self.direction == Direction.BELOW else self.target / 100.0
        return share if 0 < share < 1 else None

    @property
    def window_label(self) -> str:
        return minutes_label(self.window_minutes)

    def meets_target(self, value: float) -> bool:
        if self.direction == Direction.ABOVE:
            return value < self.target
        return value >= self.target

    def grade(self, value: float | None, state: str = SeriesState.OK) -> str:
        """The page's state for a value: ok, missing (target missed), alerting, or nodata."""
        if state == SeriesState.FIRING:
            return "alerting"  # the alert stays open while the data is missing
        if value is None:
            return "nodata"
        if self.breaches(value):
            return "alerting"
        return "ok" if self.meets_target(value) else "missing"


def metric_thresholds(key: str) -> Thresholds | None:
    """The target and alert threshold of the metric ``key`` as they are in its row now (one query)."""
    row = Metric.objects.filter(key=key).values_list("target", "alert_threshold", "direction").first()
    if row is None:
        return None
    target, alert, direction = row
    return Thresholds(target=target, alert=alert, higher_is_worse=direction == Direction.ABOVE)


def minutes_label(minutes: int | None) -> str:
    """5m, 1h, 6h, 3d, 30d: how the SRE Workbook writes its windows."""
    if not minutes:
        return "-"
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


class BurnRateRule(models.Model):
    """One multiwindow burn-rate rule of a metric's SLO (Google SRE Workbook, "Alerting on SLOs").

    The error budget of the metric's target (99.9% uptime: 0.1% of checks may fail over the
    SLO window) burns at ``error ratio / budget``. The rule fires when the burn rate is at least
    ``factor`` over both the long and the short window: the long window makes it significant,
    the short one makes it stop soon after recovery. Critical rules page, warning rules open a
    ticket. The workbook's defaults: 14.4x over 1h and 5m, 6x over 6h and 30m (page); 1x over
    3d and 6h (ticket). Editors change them per metric.
    """

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="burn_rules")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.CRITICAL)
    factor = models.FloatField(validators=[MinValueValidator(0.01)], help_text="Burn rate, e.g. 14.4")
    long_window_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    short_window_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["metric", "position", "-factor"]

    def __str__(self) -> str:
        return f"{self.metric.name}: {self.label}"

    @property
    def kind(self) -> str:
        return "page" if self.severity == Severity.CRITICAL else "ticket"

    @property
    def label(self) -> str:
        long, short = minutes_label(self.long_window_minutes), minutes_label(self.short_window_minutes)
        return f"{self.kind} at {self.factor:g}x over {long} and {short}"

    def clean(self) -> None:
        if (
            self.long_window_minutes
            and self.short_window_minutes
            and self.short_window_minutes >= self.long_window_minutes
        ):
            raise ValidationError({"short_window_minutes": "The short window must be shorter than the long one."})


GRADE_LABELS = {"ok": "ok", "missing": "missing target", "alerting": "alerting", "nodata": "no data"}
GRADE_ORDER = {"alerting": 3, "missing": 2, "ok": 1, "nodata": 0}


class MetricSeries(models.Model):
    """One stream of values of a metric: overall, per service, per host or per backup policy.

    Holds the latest value and the evaluation state: ok -> pending (past the threshold, waiting
    out the "for" duration) -> firing (alert raised) -> ok once the value clears.
    """

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="series")
    label = models.CharField(max_length=150, help_text="e.g. all, service:api, host:web1:/data, policy:nightly")
    service = models.ForeignKey(
        "monitoring.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="metric_series"
    )
    info = models.JSONField(default=dict, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=SeriesState.choices, default=SeriesState.NODATA)
    state_since = models.DateTimeField(default=timezone.now)
    breach_since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["metric__position", "label"]
        verbose_name_plural = "metric series"
        constraints = [models.UniqueConstraint(fields=["metric", "label"], name="monitoring_one_series_per_label")]

    def __str__(self) -> str:
        return f"{self.metric.name} [{self.label}]"

    @property
    def dedup_key(self) -> str:
        return f"metric:{self.metric.key}:{self.label}"

    def reading(self, now: Any = None) -> str:
        """The value as every page shows it (alert, Metrics page, dashboard): one function, one number."""
        return self.metric.fmt(self.current_value(now))

    def current_value(self, now: Any = None) -> float | None:
        """The latest value, or None when it is older than the metric's staleness limit."""
        if self.last_at is None:
            return None
        age = ((now or timezone.now()) - self.last_at).total_seconds()
        return self.last_value if age <= self.metric.stale_after_seconds else None


class MetricSample(models.Model):
    """One value of a series at one moment (pushed, collected, computed or provided)."""

    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField(default=timezone.now)
    value = models.FloatField()

    class Meta:
        ordering = ["series", "at"]
        indexes = [models.Index(fields=["series", "at"], name="monitoring_sample_series_at")]

    def __str__(self) -> str:
        return f"{self.series_id} {self.at:%Y-%m-%d %H:%M:%S} {self.value}"
