"""Metric samples in, alerts out: storing samples, computing probe and provider metrics, evaluating.

``evaluate()`` runs on beat every minute. For each series it takes the latest value (no data
when older than the metric's ``stale_after_seconds``) and steps a small state machine:
ok -> pending when the value passes the alert threshold; pending -> firing (alert raised) once
it has stayed past for the metric's "for" duration; firing -> ok (alert resolved) once the
value is back past the clear threshold. State changes are compare-and-set on the series row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from monitoring.alerts.choices import AlertState
from monitoring.alerts.holds import INHIBIT_BY_DOWN
from monitoring.alerts.models import Alert
from monitoring.alerts.public import (
    last_resolved_by_hand,
    metric_sources,
    raise_alert,
    refresh_alerts,
    resolve_alert,
)
from monitoring.metrics import conf
from monitoring.metrics.choices import Direction, MetricSourceKind, SeriesState
from monitoring.metrics.models import BurnRateRule, Metric, MetricSample, MetricSeries, minutes_label
from monitoring.metrics.slo import evaluate_burn_rates
from monitoring.metrics.windows import Counts, SharedCounts, counts_over, recent_counts
from monitoring.services.choices import Resolution
from monitoring.services.histogram import Histogram
from monitoring.services.models import CheckRollup, Service
from opsportal.sql import bound_cursor

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


# Above this many labels the series are looked up by metric alone (a minute's computed samples name
# every service: sending 20,000 labels to match costs more than reading the metric's rows).
LABELS_IN_QUERY = 500


def _existing_series(wanted: dict[tuple[int, str], SampleIn]) -> dict[tuple[int, str], int]:
    labels = {label for _, label in wanted}
    rows = MetricSeries.objects.filter(metric_id__in={m for m, _ in wanted})
    if len(labels) <= LABELS_IN_QUERY:
        rows = rows.filter(label__in=labels)
    return {
        (m, label): pk
        for m, label, pk in rows.order_by().values_list("metric_id", "label", "id")
        if (m, label) in wanted
    }


def record_samples(samples: list[SampleIn], *, evaluated_at: dt.datetime | None = None) -> int:
    """Store samples and move each series' latest value forward; returns how many were stored.

    ``evaluated_at``: the evaluation storing its computed samples sets the series' evaluated_at in
    the same row write (it sets it on every series of an enabled metric when it is done)."""
    if not samples:
        return 0
    with transaction.atomic():
        ids = series_ids(samples)
        _insert_samples([(ids[(s.metric_id, s.label)], s) for s in samples])
        latest: dict[int, SampleIn] = {}
        for s in samples:
            sid = ids[(s.metric_id, s.label)]
            if sid not in latest or s.at >= latest[sid].at:
                latest[sid] = s
        _move_latest(latest, evaluated_at)
    return len(samples)


def _insert_samples(rows: list[tuple[int, SampleIn]]) -> None:
    """One INSERT ... SELECT FROM unnest on PostgreSQL, the arrays bound by the server (bulk_create
    builds a model and a placeholder per row)."""
    if connection.vendor != "postgresql":
        MetricSample.objects.bulk_create(
            [MetricSample(series_id=sid, at=s.at, value=s.value) for sid, s in rows], batch_size=1000
        )
        return
    with bound_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MetricSample._meta.db_table} (series_id, at, value) "  # noqa: S608 - table name from the model
            "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[])",
            [[sid for sid, _ in rows], [s.at for _, s in rows], [s.value for _, s in rows]],
        )


def _json_rows(values: list[Any]) -> str:
    """Many JSON values as one JSON array: one parameter PostgreSQL splits with jsonb_array_elements
    (an array of jsonb texts is escaped element by element on the client, most of a big update's CPU)."""
    return json.dumps(values)


def note_series_info(rows: list[tuple[int, str, int | None, dict[str, Any]]]) -> None:
    """Write what a series says (e.g. how much of its window is covered) while it has no value yet."""
    if not rows:
        return
    probe = [SampleIn(m, label, 0.0, timezone.now(), sid, info=info) for m, label, sid, info in rows]
    ids = series_ids(probe)
    if connection.vendor != "postgresql":
        MetricSeries.objects.bulk_update(
            [MetricSeries(pk=ids[(s.metric_id, s.label)], info=s.info or {}) for s in probe], ["info"], batch_size=1000
        )
        return
    # One statement for every series (Django's bulk_update builds a CASE per row: most of the minute's CPU).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MetricSeries._meta.db_table} AS s SET info = j.info "  # noqa: S608 - table name from the model
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) "
            "JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(info, n) ON j.n = v.n "
            "WHERE s.id = v.id AND s.info IS DISTINCT FROM j.info",
            [[ids[(s.metric_id, s.label)] for s in probe], _json_rows([s.info or {} for s in probe])],
        )


def _move_latest(latest: dict[int, SampleIn], evaluated_at: dt.datetime | None = None) -> None:
    """Set last_value/last_at (and info, when the sample has some; evaluated_at, when given) where the new sample is not older than what the series holds."""
    if connection.vendor == "postgresql":
        table = MetricSeries._meta.db_table
        rows = list(latest.items())
        params: list[Any] = [
            evaluated_at,
            [sid for sid, _ in rows],
            [s.value for _, s in rows],
            [s.at for _, s in rows],
            _json_rows([s.info or None for _, s in rows]),  # JSON null: the series keeps its info
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET last_value = v.value, last_at = v.at, "  # noqa: S608 - table name from the model
                "info = COALESCE(NULLIF(j.info, 'null'::jsonb), s.info), evaluated_at = COALESCE(%s::timestamptz, s.evaluated_at) "
                "FROM unnest(%s::bigint[], %s::float8[], %s::timestamptz[]) WITH ORDINALITY AS v(id, value, at, n) "
                "JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(info, n) ON j.n = v.n "
                "WHERE s.id = v.id AND (s.last_at IS NULL OR s.last_at <= v.at)",
                params,
            )
        return
    for sid, s in latest.items():
        changes: dict[str, Any] = {"last_value": s.value, "last_at": s.at}
        if s.info:
            changes["info"] = s.info
        if evaluated_at is not None:
            changes["evaluated_at"] = evaluated_at
        MetricSeries.objects.filter(pk=sid).exclude(last_at__gt=s.at).update(**changes)


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


Labelled = dict[tuple[str, int | None], float]
Infos = dict[tuple[str, int | None], dict[str, Any]]


def probe_values(
    metric: Metric, now: dt.datetime, slugs: dict[int, str] | None = None, shared: SharedCounts | None = None
) -> tuple[Labelled, Infos]:
    """{(label, service id): value} of a probe-computed metric, per service and over all services,
    and what each series says beside its value (coverage, the two windows). ``slugs``: every
    service's slug by id, when the caller has read them already."""

    # A handful of checks says little: one failure in the first five would be "80% uptime".
    minimum = conf.PROBE_METRIC_MIN_CHECKS.get()
    if slugs is None:
        slugs = dict(Service.objects.values_list("pk", "slug"))
    values: dict[tuple[str, int | None], float] = {}
    if metric.source_name == "p95":
        parts = _probe_rows(now - dt.timedelta(minutes=metric.window_minutes), now)
        hists = _merged_histograms(parts)
        overall = Histogram()
        for sid, hist in hists.items():
            overall.merge(hist)
            p95 = hist.quantile(0.95)
            if p95 is not None and sid in slugs and hist.total >= minimum:
                values[(f"service:{slugs[sid]}", sid)] = p95
        total = overall.quantile(0.95)
        if total is not None and overall.total >= minimum:
            values[("all", None)] = total
        return values, {}
    return ratio_values(metric, now, slugs, minimum, shared)


def _merged_histograms(parts: list[QuerySet[CheckRollup]]) -> dict[int, Histogram]:
    """Each service's histograms of the rows, added together, with the largest latency_max.

    On PostgreSQL the database adds the buckets up (one row per service and bucket instead of a
    JSON document per rollup row: 150,000 of them for 10,000 services over 15 minutes)."""
    hists: dict[int, Histogram] = defaultdict(Histogram)
    for rows in parts:
        rows = rows.exclude(histogram={}).order_by()
        if connection.vendor != "postgresql":
            for sid, data, top in rows.values_list("service_id", "histogram", "latency_max"):
                hists[sid].merge(Histogram.from_json(data, top))
            continue
        sql, params = rows.values_list("service_id", "histogram", "latency_max").query.sql_with_params()
        with connection.cursor() as cursor:
            # Every row with a histogram has a bucket, so the largest latency_max over a service's
            # (service, bucket) groups is the largest over its rows.
            cursor.execute(
                "SELECT r.service_id, b.key::int, sum(b.value::bigint), max(r.latency_max) "  # noqa: S608 - the ORM's own query
                f"FROM ({sql}) AS r(service_id, histogram, latency_max), jsonb_each_text(r.histogram) AS b "
                "GROUP BY r.service_id, b.key",
                params,
            )
            for sid, index, count, top in cursor.fetchall():
                hist = hists[sid]
                hist.counts[index] = hist.counts.get(index, 0) + int(count)
                if top is not None and (hist.max_ms is None or top > hist.max_ms):
                    hist.max_ms = top
    return hists


def ratio_values(
    metric: Metric, now: dt.datetime, slugs: dict[int, str], minimum: int, shared: SharedCounts | None = None
) -> tuple[Labelled, Infos]:
    """Uptime or error rate per service and overall, over the metric's window (and its short window).

    With a short window the value is the one nearer to good of the two (``min`` when higher is
    worse): it is past the threshold only when both windows are, and back as soon as either is,
    so an alert cannot open after recovery. With ``min_coverage_percent`` a service is judged only
    once it has been watched that share of the window; until then it has no value and its series
    says how much is covered (``info["coverage"]``).
    """
    window = dt.timedelta(minutes=metric.window_minutes)
    short = dt.timedelta(minutes=metric.short_window_minutes) if metric.short_window_minutes else None
    counts = shared.over([window], now) if shared is not None else counts_over([window], now)
    recent: dict[int, Counts] = {}
    if short:
        # At least two probe intervals, so a service checked once a minute always has a check in it.
        intervals = dict(Service.objects.filter(pk__in=list(counts[window])).values_list("pk", "interval_seconds"))
        recent = recent_counts(now, {sid: max(short, dt.timedelta(seconds=2 * n)) for sid, n in intervals.items()})
    values: dict[tuple[str, int | None], float] = {}
    infos: dict[tuple[str, int | None], dict[str, Any]] = {}
    total, total_short = Counts(), Counts()
    for sid, c in counts[window].items():
        if sid not in slugs:
            continue
        total.add(c.checks, c.failures, c.first)
        cs = recent.get(sid, Counts()) if short else None
        if cs is not None:
            total_short.add(cs.checks, cs.failures, cs.first)
        label = (f"service:{slugs[sid]}", sid)
        value, info = _judged(metric, c, cs, window, short, now, minimum)
        infos[label] = info
        if value is not None:
            values[label] = value
    if total.checks:
        value, info = _judged(metric, total, total_short if short else None, window, short, now, minimum)
        infos[("all", None)] = info
        if value is not None:
            values[("all", None)] = value
    return values, infos


def _judged(
    metric: Metric,
    c: Counts,
    cs: Counts | None,
    window: dt.timedelta,
    short: dt.timedelta | None,
    now: dt.datetime,
    minimum: int,
) -> tuple[float | None, dict[str, Any]]:
    coverage = c.coverage(window, now)
    info: dict[str, Any] = {"coverage": round(coverage, 4), "checks": c.checks, "window": metric.window_label}
    if metric.min_coverage_percent:
        info["min_coverage"] = metric.min_coverage_percent / 100
    if c.checks < minimum or 100 * coverage < metric.min_coverage_percent:
        return None, info
    value = _rate(metric.source_name, c.failures, c.checks)
    if short is None:
        return value, info
    if cs is None or not cs.checks:
        cs = Counts()  # nothing checked lately: nothing failing now
    short_value = _rate(metric.source_name, cs.failures, cs.checks) if cs.checks else _rate(metric.source_name, 0, 1)
    info.update(
        {
            "long_value": value,
            "short_value": short_value,
            "short_window": minutes_label(int(short.total_seconds() // 60)),
        }
    )
    above = metric.direction == Direction.ABOVE
    return (min(value, short_value) if above else max(value, short_value)), info


def _rate(kind: str, failures: int, count: int) -> float:
    share = 100.0 * failures / count
    return share if kind == "error_rate" else 100.0 - share


def computed_samples(now: dt.datetime, shared: SharedCounts | None = None) -> list[SampleIn]:
    """Samples of the metrics the portal computes itself: from probe rollups and from providers."""
    samples: list[SampleIn] = []
    sources = metric_sources()
    slugs: dict[int, str] | None = None
    for metric in Metric.objects.filter(enabled=True, source__in=[MetricSourceKind.PROBES, MetricSourceKind.PROVIDER]):
        if metric.source == MetricSourceKind.PROBES:
            if slugs is None:
                slugs = dict(Service.objects.values_list("pk", "slug"))
            values, infos = probe_values(metric, now, slugs, shared)
            for (label, sid), value in values.items():
                samples.append(SampleIn(metric.pk, label, value, now, sid, info=infos.get((label, sid))))
            waiting = [
                (metric.pk, label, sid, info) for (label, sid), info in infos.items() if (label, sid) not in values
            ]
            note_series_info(waiting)
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


# What stepping a series reads, as tuples (most series neither move nor have an open alert, so
# most rows never become model instances), and of its service only what names it.
STEP_COLUMNS = ["id", "metric_id", "label", "service_id", "state", "breach_since", "last_value", "last_at"]
SERVICE_NAMES = ["service__name", "service__slug"]


def _series_instance(row: tuple[Any, ...]) -> MetricSeries:
    """The series of a STEP_COLUMNS + SERVICE_NAMES row as the ORM would load it with ``only()``: the other
    columns are deferred (read from the row if something asks), the service holds its id, name and slug."""
    values = dict(zip(STEP_COLUMNS, row, strict=False))
    names = [f.attname for f in MetricSeries._meta.concrete_fields if f.attname in values]
    series = MetricSeries.from_db(MetricSeries.objects.db, names, [values[n] for n in names])
    if values["service_id"] is None:
        series.service = None
    else:
        known = dict(zip(["id", "name", "slug"], (values["service_id"], *row[len(STEP_COLUMNS) :]), strict=True))
        names = [f.attname for f in Service._meta.concrete_fields if f.attname in known]  # from_db wants model order
        series.service = Service.from_db(Service.objects.db, names, [known[n] for n in names])
    return series


@dataclass
class EvaluationReport:
    series: int = 0
    samples: int = 0
    raised: int = 0
    resolved: int = 0
    states: dict[str, int] = field(default_factory=dict)
    burn_firing: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _shared_counts(now: dt.datetime, compute: bool) -> SharedCounts:
    """The checks and failures of every window this evaluation reads from the rollups, in one read."""
    windows = set()
    if compute:
        ratio = Metric.objects.filter(enabled=True, source=MetricSourceKind.PROBES).exclude(source_name="p95")
        windows.update(dt.timedelta(minutes=m) for m in ratio.values_list("window_minutes", flat=True))
    rules = BurnRateRule.objects.filter(metric__enabled=True, metric__source=MetricSourceKind.PROBES)
    for long, short in rules.values_list("long_window_minutes", "short_window_minutes"):
        windows.update((dt.timedelta(minutes=long), dt.timedelta(minutes=short)))
    return SharedCounts(windows, now)


def evaluate(now: dt.datetime | None = None, *, compute: bool = True) -> EvaluationReport:
    """Compute the portal's own metrics, then step every series; raise and resolve their alerts."""
    started = time.perf_counter()
    now = now or timezone.now()
    report = EvaluationReport()
    shared = _shared_counts(now, compute)
    if compute:
        report.samples = record_samples(computed_samples(now, shared), evaluated_at=now)
    metrics = {m.pk: m for m in Metric.objects.all()}
    # Open metric alerts and whether their value was past the threshold at the last evaluation.
    open_keys: dict[str, bool] = {
        key: bool((details or {}).get("breaching"))
        for key, details in Alert.objects.filter(dedup_key__startswith="metric:")
        .exclude(state=AlertState.RESOLVED)
        .values_list("dedup_key", "details")
    }
    live: list[tuple[str, str, dict[str, Any]]] = []
    states: dict[str, int] = defaultdict(int)
    # Of each series' service only what names it (raising an alert reads more, then, from the row).
    all_series = list(MetricSeries.objects.values_list(*STEP_COLUMNS, *SERVICE_NAMES))
    for row in all_series:
        metric = metrics[row[1]]
        if not metric.enabled:
            key = f"metric:{metric.key}:{row[2]}"  # MetricSeries.dedup_key
            if key in open_keys and resolve_alert(key, note=f"{metric.name} is no longer evaluated"):
                report.resolved += 1
            continue
        state, breach_since, last_value, last_at = row[4:8]
        if state != SeriesState.FIRING:
            # MetricSeries.current_value, then step: a series that stays as it is has nothing more to do.
            value = None if last_at is None else last_value
            if last_at is not None and (now - last_at).total_seconds() > metric.stale_after_seconds:
                value = None
            new_state, new_since, _ = step(metric, state, breach_since, value, now)
            if (new_state, new_since) == (state, breach_since):
                states[str(new_state)] += 1
                continue
        series = _series_instance(row)
        series.metric = metric
        key = series.dedup_key
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
            # Live: value, summary and last_seen_at follow every evaluation. Unless the value crossed
            # the threshold (a timeline entry), all of them are refreshed in one statement.
            summary, details = _alert_text(series, metric, value, now)
            if details["breaching"] == open_keys[key]:
                live.append((key, summary, details))
            else:
                _raise(series, metric, value, now)
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
    refresh_alerts(live, now)
    # The series that took a computed sample were stamped with it (one row write, not two).
    MetricSeries.objects.filter(metric__enabled=True).exclude(evaluated_at=now).update(evaluated_at=now)
    burn = evaluate_burn_rates(now, shared)
    report.raised += burn.raised
    report.resolved += burn.resolved
    report.burn_firing = burn.firing
    report.series = len(all_series)
    report.states = dict(states)
    report.seconds = time.perf_counter() - started
    return report


def _alert_text(series: MetricSeries, metric: Metric, value: float | None, now: dt.datetime) -> tuple[str, dict]:
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
    summary = f"{metric.name} is {series.reading(now)} on {series_display(series)} (alert if {metric.alert_label})"
    return summary, details


def _raise(
    series: MetricSeries, metric: Metric, value: float | None, now: dt.datetime, reopens: Alert | None = None
) -> None:
    summary, details = _alert_text(series, metric, value, now)
    raise_alert(
        series.dedup_key,
        summary=summary,
        source="metrics",
        severity=metric.severity,
        service=series.service,
        runbook=metric.runbook,
        details=details,
        reopens=reopens,
    )
