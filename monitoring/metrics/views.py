"""Metrics pages: the runbook's table made live, one metric with all its series, and editing thresholds."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from monitoring.alerts.alerting import runbook_url
from monitoring.alerts.choices import AlertState
from monitoring.alerts.models import Alert
from monitoring.metrics.choices import Direction
from monitoring.metrics.evaluation import series_display
from monitoring.metrics.forms import BurnRateRuleFormSet, MetricThresholdForm
from monitoring.metrics.models import GRADE_LABELS, GRADE_ORDER, Metric, MetricSeries
from monitoring.metrics.series import series_points
from opsportal import charts
from opsportal.access import console_view, has_perm

SPARK_HOURS = 24


def _row(metric: Metric, series: MetricSeries, now: dt.datetime) -> dict[str, Any]:
    value = series.current_value(now)
    grade = metric.grade(value, series.state)
    return {
        "series": series,
        "label": series_display(series),
        "value": value,
        "value_display": series.reading(now),
        "grade": grade,
        "grade_label": GRADE_LABELS[grade],
        "info": series.info or {},
        "note": series_note(series.info or {}),
    }


def series_note(info: dict[str, Any]) -> str:
    """What a probe series says beside its value: how much of the window is watched, the two windows."""
    parts = []
    if "coverage" in info:
        covered = f"watched {100 * info['coverage']:.1f}% of {info.get('window', 'the window')}"
        if info.get("min_coverage") and info["coverage"] < info["min_coverage"]:
            covered += f"; judged from {100 * info['min_coverage']:.0f}%"
        parts.append(covered)
    if "short_value" in info:
        parts.append(
            f"{info.get('window', '')} {info['long_value']:.3g}%, last {info.get('short_window', '')} {info['short_value']:.3g}%"
        )
    return "; ".join(parts)


def _worst(metric: Metric, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    sign = 1 if metric.direction == Direction.ABOVE else -1
    return max(rows, key=lambda r: (GRADE_ORDER[r["grade"]], sign * (r["value"] if r["value"] is not None else 0)))


def _sparks(metric_rows: list[tuple[Metric, dict[str, Any]]], now: dt.datetime) -> None:
    """Add a 24-hour sparkline to each row, reading the samples of all rows in one query per direction."""
    since = now - dt.timedelta(hours=SPARK_HOURS)
    by_direction: dict[str, list[int]] = defaultdict(list)
    for metric, row in metric_rows:
        by_direction[metric.direction].append(row["series"].pk)
    points: dict[int, list[float | None]] = {}
    for direction, ids in by_direction.items():
        points.update(series_points(ids, since, now, worst="max" if direction == Direction.ABOVE else "min"))
    for metric, row in metric_rows:
        row["spark"] = charts.sparkline(
            points.get(row["series"].pk, []),
            width=140,
            height=30,
            css=f"spark-{row['grade']}",
            threshold=metric.alert_threshold,
            from_zero=False,
            mark_last=True,
            label=f"{metric.name}, {row['label']}, last {SPARK_HOURS} hours",
        )


@console_view("monitoring.view_metric")
def metrics(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    catalog = list(Metric.objects.all())
    by_pk = {m.pk: m for m in catalog}
    series_by_metric: dict[int, list[MetricSeries]] = defaultdict(list)
    for s in MetricSeries.objects.select_related("service"):
        s.metric = by_pk[s.metric_id]  # its staleness limit is read per row: no query per series
        series_by_metric[s.metric_id].append(s)
    table, spark_rows = [], []
    for metric in catalog:
        rows = [_row(metric, s, now) for s in series_by_metric.get(metric.pk, [])]
        worst = _worst(metric, rows) if metric.enabled else None
        if worst is not None:
            spark_rows.append((metric, worst))
        table.append(
            {
                "metric": metric,
                "worst": worst,
                "series_count": len(rows),
                "alerting": sum(1 for r in rows if r["grade"] == "alerting"),
                "grade": worst["grade"] if worst else ("disabled" if not metric.enabled else "nodata"),
            }
        )
    _sparks(spark_rows, now)
    return render(
        request,
        "monitoring/metrics.html",
        {"table": table, "can_edit": has_perm(request, "monitoring.change_metric"), "hours": SPARK_HOURS},
    )


@console_view("monitoring.view_metric")
def metric_detail(request: HttpRequest, key: str) -> HttpResponse:
    metric = get_object_or_404(Metric, key=key)
    now = timezone.now()
    rows = [_row(metric, s, now) for s in metric.series.select_related("service").order_by("label")]
    rows.sort(key=lambda r: -GRADE_ORDER[r["grade"]])
    _sparks([(metric, r) for r in rows], now)
    keys = {r["series"].dedup_key: r for r in rows}
    for alert in Alert.objects.filter(dedup_key__in=keys).exclude(state=AlertState.RESOLVED):
        keys[alert.dedup_key]["alert"] = alert
    return render(
        request,
        "monitoring/metric_detail.html",
        {
            "metric": metric,
            "rows": rows,
            "hours": SPARK_HOURS,
            "runbook_url": runbook_url(metric.runbook),
            "can_edit": has_perm(request, "monitoring.change_metric"),
        },
    )


@console_view("monitoring.change_metric", methods=("GET", "HEAD", "POST"))
def metric_edit(request: HttpRequest, key: str) -> HttpResponse:
    metric = get_object_or_404(Metric, key=key)
    form = MetricThresholdForm(request.POST or None, instance=metric)
    # The rules are edited with the thresholds when the page sends them (a POST of thresholds alone keeps them).
    with_rules = request.method == "POST" and "rules-TOTAL_FORMS" in request.POST
    rules = BurnRateRuleFormSet(request.POST if with_rules else None, instance=metric, prefix="rules")
    if request.method == "POST" and form.is_valid() and (not with_rules or rules.is_valid()):
        with transaction.atomic():
            form.save()  # audited through the Metric and BurnRateRule registrations: before/after
            if with_rules:
                rules.save()
        messages.success(request, f"{metric.name}: target {metric.target_label}, alert if {metric.alert_label}.")
        return redirect("monitoring:metric", key=metric.key)
    current = Metric.objects.get(pk=metric.pk)  # the form has already changed ``metric`` in memory
    return render(request, "monitoring/metric_form.html", {"metric": current, "form": form, "rules": rules})
