"""Forms of the metrics pages: a metric's target, thresholds and windows, and its SLO burn-rate rules."""

from __future__ import annotations

from typing import Any

from django import forms

from monitoring.metrics.models import BurnRateRule, Metric, MetricSourceKind

UNIT_WORDS = {"ms": "milliseconds", "percent": "%", "count": "count", "hours": "hours"}


class MetricThresholdForm(forms.ModelForm):
    for_minutes = forms.FloatField(
        min_value=0, max_value=24 * 60, label="For (minutes)", help_text="How long past the threshold before it fires."
    )

    class Meta:
        model = Metric
        fields = [
            "target",
            "alert_threshold",
            "clear_threshold",
            "severity",
            "window_minutes",
            "short_window_minutes",
            "min_coverage_percent",
            "enabled",
        ]
        help_texts = {
            "target": "The value to aim for (the runbook's 'Target').",
            "alert_threshold": "Past this, for the duration below, an alert fires (the runbook's 'Alert If').",
            "clear_threshold": "Optional: resolve only once the value is back past this (hysteresis).",
        }

    field_order = [
        "target",
        "alert_threshold",
        "clear_threshold",
        "for_minutes",
        "severity",
        "window_minutes",
        "short_window_minutes",
        "min_coverage_percent",
        "enabled",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.source != MetricSourceKind.PROBES:
            for name in ("window_minutes", "short_window_minutes", "min_coverage_percent"):
                del self.fields[name]
        self.fields["for_minutes"].initial = (self.instance.for_seconds or 0) / 60
        unit = UNIT_WORDS.get(self.instance.unit, self.instance.unit)
        for name in ("target", "alert_threshold", "clear_threshold"):
            self.fields[name].label = f"{self.fields[name].label} ({unit})"

    def save(self, commit: bool = True) -> Metric:
        self.instance.for_seconds = round(self.cleaned_data["for_minutes"] * 60)
        return super().save(commit=commit)

    def _post_clean(self) -> None:
        self.instance.for_seconds = round((self.cleaned_data.get("for_minutes") or 0) * 60)
        super()._post_clean()


BurnRateRuleFormSet = forms.inlineformset_factory(
    Metric,
    BurnRateRule,
    fields=["severity", "factor", "long_window_minutes", "short_window_minutes"],
    extra=1,
    can_delete=True,
    labels={
        "severity": "Critical pages, warning opens a ticket",
        "factor": "Burn rate",
        "long_window_minutes": "Long window (min)",
        "short_window_minutes": "Short window (min)",
    },
)
