"""Metric samples in, alerts out: storing samples, computing probe and provider metrics, evaluating.

``evaluate()`` runs on beat every minute. For each series it takes the latest value (no data
when older than the metric's ``stale_after_seconds``) and steps a small state machine:
ok -> pending when the value passes the alert threshold; pending -> firing (alert raised) once
it has stayed past for the metric's "for" duration; firing -> ok (alert resolved) once the
value is back past the clear threshold. State changes are compare-and-set on the series row.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from monitoring.alerts.choices import AlertState
from monitoring.alerts.holds import INHIBIT_BY_DOWN
from monitoring.alerts.models import Alert
from monitoring.alerts.public import last_resolved_by_hand, metric_sources, raise_alert, resolve_alert
from monitoring.metrics import conf
from monitoring.metrics.choices import MetricSourceKind, SeriesState
from monitoring.metrics.models import Metric, MetricSample, MetricSeries
from monitoring.services.choices import Resolution
from monitoring.services.histogram import Histogram
from monitoring.services.models import CheckRollup

log = logging.getLogger(__name__)

# Per-service series of these metrics are pages that the service's own open "down" alert
# inhibits: during an outage the down alert is the one page.
INHIBITED_METRICS = {"error_rate", "uptime"}


# Storing samples ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleIn:
    """A value for (metric, series label) at a moment, before it has a series row."""

    metric_id: int
    label: str
    value: float
    at: dt.datetime
    service_id: int | None = None
    info: dict[str, Any] | None = field(default=None, hash=False, compare=False)


def series_ids(samples: list[SampleIn]) -> dict[tuple[int, str], int]:
    """Series id per (metric, label), creating the series that do not exist yet."""
    wanted = {(s.metric_id, s.label): s for s in samples}
    found = _existing_series(wanted)
    missing = [k for k in wanted if k not in found]
    if missing:
        MetricSeries.objects.bulk_create(
            [
                MetricSeries(
                    metric_id=m,
                    label=label,
                    service_id=wanted[(m, label)].service_id,
                    info=wanted[(m, label)].info or {},
                )
                for m, label in missing
            ],
            ignore_conflicts=True,
        )
        found.update(_existing_series({k: wanted[k] for k in missing}))
    return found


def _existing_series(wanted: dict[tuple[int, str], SampleIn]) -> dict[tuple[int, str], int]:
    rows = MetricSeries.objects.filter(
        metric_id__in={m for m, _ in wanted}, label__in={label for _, label in wanted}
    ).values_list("metric_id", "label", "id")
    return {(m, label): pk for m, label, pk in rows if (m, label) in wanted}


def record_samples(samples: list[SampleIn]) -> int:
    """Store samples and move each series' latest value forward; returns how many were stored."""
    if not samples:
        return 0
    with transaction.atomic():
        ids = series_ids(samples)
        MetricSample.objects.bulk_create(
            [MetricSample(series_id=ids[(s.metric_id, s.label)], at=s.at, value=s.value) for s in samples],
            batch_size=1000,
        )
        latest: dict[int, SampleIn] = {}
        for s in samples:
            sid = ids[(s.metric_id, s.label)]
            if sid not in latest or s.at >= latest[sid].at:
                latest[sid] = s
        _move_latest(latest)
        infos = {sid: s.info for sid, s in latest.items() if s.info}
        for sid, info in infos.items():
            MetricSeries.objects.filter(pk=sid).update(info=info)
    return len(samples)


def _move_latest(latest: dict[int, SampleIn]) -> None:
    """Set last_value/last_at where the new sample is not older than what the series holds."""
    if connection.vendor == "postgresql":
        table = MetricSeries._meta.db_table
        values = ", ".join(["(%s, %s::double precision, %s::timestamptz)"] * len(latest))
        params: list[Any] = []
        for sid, s in latest.items():
            params += [sid, s.value, s.at]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET last_value = v.value, last_at = v.at "  # noqa: S608 - table name from the model
                f"FROM (VALUES {values}) AS v(id, value, at) "
                "WHERE s.id = v.id AND (s.last_at IS NULL OR s.last_at <= v.at)",
                params,
            )
        return
    for sid, s in latest.items():
        MetricSeries.objects.filter(pk=sid).exclude(last_at__gt=s.at).update(last_value=s.value, last_at=s.at)


def prune_samples(now: dt.datetime | None = None, chunk: int = 20000) -> int:
    """Delete samples older than METRIC_SAMPLE_RETENTION_DAYS, in chunks; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=conf.METRIC_SAMPLE_RETENTION_DAYS.get())
    deleted = 0
    while True:
        ids = list(MetricSample.objects.filter(at__lt=cutoff).values_list("id", flat=True)[:chunk])
        if not ids:
            return deleted
        deleted += MetricSample.objects.filter(id__in=ids).delete()[0]


# Computed sources: probe rollups and providers ------------------------------------------------


def _probe_rows(since: dt.datetime, now: dt.datetime) -> list[QuerySet[CheckRollup]]:
    """Rollup rows covering [since, now): minute rows for short windows; for long ones, hour rows for
    whole hours plus minute rows after the newest hour row."""
    minutes = CheckRollup.objects.filter(resolution=Resolution.MINUTE, start__lt=now)
    if now - since <= dt.timedelta(hours=6):
        return [minutes.filter(start__gte=since)]
    hours = CheckRollup.objects.filter(resolution=Resolution.HOUR, start__gte=since, start__lt=now)
    last = hours.aggregate(last=Max("start"))["last"]
    return [hours, minutes.filter(start__gte=last + dt.timedelta(hours=1) if last else since)]


def probe_values(metric: Metric, now: dt.datetime) -> dict[tuple[str, int | None], float]:
    """{(label, service id): value} of a probe-computed metric, per service and over all services."""
    from monitoring.services.models import Service

    parts = _probe_rows(now - dt.timedelta(minutes=metric.window_minutes), now)
    # A handful of checks says little: one failure in the first five would be "80% uptime".
    minimum = conf.PROBE_METRIC_MIN_CHECKS.get()
    slugs = dict(Service.objects.values_list("pk", "slug"))
    values: dict[tuple[str, int | None], float] = {}
    if metric.source_name == "p95":
        hists: dict[int, Histogram] = defaultdict(Histogram)
        for rows in parts:
            for sid, data, top in rows.exclude(histogram={}).values_list("service_id", "histogram", "latency_max"):
                hists[sid].merge(Histogram.from_json(data, top))
        overall = Histogram()
        for sid, hist in hists.items():
            overall.merge(hist)
            p95 = hist.quantile(0.95)
            if p95 is not None and sid in slugs and hist.total >= minimum:
                values[(f"service:{slugs[sid]}", sid)] = p95
        total = overall.quantile(0.95)
        if total is not None and overall.total >= minimum:
            values[("all", None)] = total
        return values
    count: dict[int, int] = defaultdict(int)
    failures: dict[int, int] = defaultdict(int)
    for rows in parts:
        for sid, n, f in (
            rows.order_by()
            .values("service_id")
            .annotate(n=Sum("count"), f=Sum("failures"))
            .values_list("service_id", "n", "f")
        ):
            count[sid] += n or 0
            failures[sid] += f or 0
    for sid, n in count.items():
        if n >= minimum and sid in slugs:
            values[(f"service:{slugs[sid]}", sid)] = _rate(metric.source_name, failures[sid], n)
    total_n = sum(count.values())
    if total_n >= minimum:
        values[("all", None)] = _rate(metric.source_name, sum(failures.values()), total_n)
    return values


def _rate(kind: str, failures: int, count: int) -> float:
    share = 100.0 * failures / count
    return share if kind == "error_rate" else 100.0 - share


def computed_samples(now: dt.datetime) -> list[SampleIn]:
    """Samples of the metrics the portal computes itself: from probe rollups and from providers."""
    samples: list[SampleIn] = []
    sources = metric_sources()
    for metric in Metric.objects.filter(enabled=True, source__in=[MetricSourceKind.PROBES, MetricSourceKind.PROVIDER]):
        if metric.source == MetricSourceKind.PROBES:
            for (label, sid), value in probe_values(metric, now).items():
                samples.append(SampleIn(metric.pk, label, value, now, sid))
            continue
        provider = sources.get(metric.source_name)
        if provider is None:
            continue
        try:
            values = provider() or {}
        except Exception:
            log.exception("metric source %s failed", metric.source_name)
            continue
        for label, value in values.items():
            if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            samples.append(SampleIn(metric.pk, str(label)[:150], float(value), now))
    return samples


# Evaluation ----------------------------------------------------------------------------------


def step(
    metric: Metric, state: str, breach_since: dt.datetime | None, value: float | None, now: dt.datetime
) -> tuple[str, dt.datetime | None, str | None]:
    """One evaluation of a series: (new state, breach start, action) where action is raise/resolve/None."""
    if value is None:
        if state == SeriesState.FIRING:
            return state, breach_since, None  # no data says nothing about recovery: keep firing
        return SeriesState.NODATA, None, None
    if state == SeriesState.FIRING:
        if metric.clears(value):
            return SeriesState.OK, None, "resolve"
        return state, breach_since, None
    if metric.breaches(value):
        since = breach_since if state == SeriesState.PENDING and breach_since else now
        if (now - since).total_seconds() >= metric.for_seconds:
            return SeriesState.FIRING, since, "raise"
        return SeriesState.PENDING, since, None
    return SeriesState.OK, None, None


def series_display(series: MetricSeries) -> str:
    """A person's name for a series: the service name, 'all services', 'host web1', ..."""
    label = series.label
    if series.service_id and series.service is not None:
        return series.service.name + (" (pushed)" if label.startswith("push:") else "")
    if label == "all":
        return "all services"
    if label == "push":
        return "pushed"
    kind, _, rest = label.partition(":")
    return f"{kind} {rest}" if rest else label


@dataclass
class EvaluationReport:
    series: int = 0
    samples: int = 0
    raised: int = 0
    resolved: int = 0
    states: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def evaluate(now: dt.datetime | None = None, *, compute: bool = True) -> EvaluationReport:
    """Compute the portal's own metrics, then step every series; raise and resolve their alerts."""
    started = time.perf_counter()
    now = now or timezone.now()
    report = EvaluationReport()
    if compute:
        report.samples = record_samples(computed_samples(now))
    metrics = {m.pk: m for m in Metric.objects.all()}
    open_keys = set(
        Alert.objects.filter(dedup_key__startswith="metric:")
        .exclude(state=AlertState.RESOLVED)
        .values_list("dedup_key", flat=True)
    )
    states: dict[str, int] = defaultdict(int)
    all_series = list(MetricSeries.objects.select_related("service"))
    for series in all_series:
        metric = metrics[series.metric_id]
        series.metric = metric
        key = series.dedup_key
        if not metric.enabled:
            if key in open_keys and resolve_alert(key, note=f"{metric.name} is no longer evaluated"):
                report.resolved += 1
            continue
        value = series.current_value(now)
        state = series.state
        if state == SeriesState.FIRING and key not in open_keys:
            # Resolved by hand. Resolution follows the condition: still past the threshold (or
            # not yet back past the clear threshold) opens a new alert linked to the resolved one.
            if value is not None and not metric.clears(value):
                _raise(series, metric, value, now, reopens=last_resolved_by_hand(key))
                report.raised += 1
                states[SeriesState.FIRING] += 1
                continue
            state = SeriesState.OK
        new_state, new_since, action = step(metric, state, series.breach_since, value, now)
        states[str(new_state)] += 1
        if new_state == SeriesState.FIRING and action is None and key in open_keys and value is not None:
            _raise(series, metric, value, now)  # live: value, summary and last_seen_at follow every evaluation
        if (new_state, new_since) == (series.state, series.breach_since):
            continue
        moved = MetricSeries.objects.filter(pk=series.pk, state=series.state, breach_since=series.breach_since).update(
            state=new_state, breach_since=new_since, state_since=now
        )
        if not moved:
            continue  # another evaluator got there first
        if action == "raise":
            _raise(series, metric, value, now)
            report.raised += 1
        elif action == "resolve" and resolve_alert(
            key, note=f"{metric.name} back to {metric.fmt(value)} ({metric.clear_label})"
        ):
            report.resolved += 1
    MetricSeries.objects.filter(metric__enabled=True).update(evaluated_at=now)
    report.series = len(all_series)
    report.states = dict(states)
    report.seconds = time.perf_counter() - started
    return report


def _raise(
    series: MetricSeries, metric: Metric, value: float | None, now: dt.datetime, reopens: Alert | None = None
) -> None:
    where = series_display(series)
    details: dict[str, Any] = {
        "metric": metric.key,
        "series": series.label,
        "value": value,
        "value_text": series.reading(now),
        "breaching": value is not None and metric.breaches(value),
        "alert_threshold": metric.alert_threshold,
        "target": metric.target,
        "unit": metric.unit,
        "for_seconds": metric.for_seconds,
    }
    if metric.key in INHIBITED_METRICS and series.service_id:
        details["inhibit"] = INHIBIT_BY_DOWN  # the service's own down alert pages for the outage
    raise_alert(
        series.dedup_key,
        summary=f"{metric.name} is {series.reading(now)} on {where} (alert if {metric.alert_label})",
        source="metrics",
        severity=metric.severity,
        service=series.service,
        runbook=metric.runbook,
        details=details,
        reopens=reopens,
    )
