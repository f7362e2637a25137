"""Rolling raw check results up into minute, hour and day rows; pruning; window statistics.

``rollup()`` adds the results stored since its last run (a high-water mark on the result id,
kept in the database) to the rows of their minute, hour and day, so a run costs in proportion to
the new results, not to the history; a result checked long ago but stored late is counted in its
own minute all the same, exactly once. ``prune()`` deletes raw results older than
RAW_RETENTION_DAYS once counted, minute rows as old, and hour/day rows older than
ROLLUP_RETENTION_DAYS (400). Buckets are aligned in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from monitoring.services import conf
from monitoring.services.choices import Resolution
from monitoring.services.histogram import Histogram
from monitoring.services.models import CheckResult, CheckRollup, Watermark
from opsportal.sql import bound_cursor

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(minutes=5)
MARK = "rollup"
CHUNK = dt.timedelta(hours=1)
ROLLUP_RETENTION_DAYS = 400
DELETE_BATCH = 20_000
# The columns a rollup row contributes when rows are added together.
VALUE_FIELDS = ["count", "failures", "degraded", "latency_count", "latency_sum", "latency_max", "histogram"]
UPDATE_FIELDS = [
    "count",
    "failures",
    "degraded",
    "latency_count",
    "latency_sum",
    "latency_max",
    "histogram",
    "p50_ms",
    "p95_ms",
    "p99_ms",
]


def floor_time(moment: dt.datetime, resolution: str) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    if resolution == Resolution.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if resolution == Resolution.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Bucket:
    """Running totals of one service in one time bucket."""

    count: int = 0
    failures: int = 0
    degraded: int = 0
    latency_count: int = 0
    latency_sum: float = 0.0
    hist: Histogram = field(default_factory=Histogram)

    def add_result(self, ok: bool, degraded: bool, latency_ms: float | None) -> None:
        self.count += 1
        if not ok:
            self.failures += 1
            return
        if degraded:
            self.degraded += 1
        if latency_ms is not None:
            self.latency_count += 1
            self.latency_sum += latency_ms
            self.hist.add(latency_ms)

    def add_rollup(self, row: CheckRollup) -> None:
        self.add_values(
            row.count, row.failures, row.degraded, row.latency_count, row.latency_sum, row.latency_max, row.histogram
        )

    def add_values(
        self,
        count: int,
        failures: int,
        degraded: int,
        latency_count: int,
        latency_sum: float,
        latency_max: float | None,
        histogram: dict[str, int],
    ) -> None:
        """Add one stored rollup row (its columns, in VALUE_FIELDS order)."""
        self.count += count
        self.failures += failures
        self.degraded += degraded
        self.latency_count += latency_count
        self.latency_sum += latency_sum
        self.hist.merge(histogram)  # the stored form merges directly, without building a Histogram
        if latency_max is not None and (self.hist.max_ms is None or latency_max > self.hist.max_ms):
            self.hist.max_ms = latency_max

    def add_bucket(self, other: Bucket) -> None:
        self.count += other.count
        self.failures += other.failures
        self.degraded += other.degraded
        self.latency_count += other.latency_count
        self.latency_sum += other.latency_sum
        self.hist.merge(other.hist)

    def to_row(self, service_id: int, resolution: str, start: dt.datetime) -> CheckRollup:
        return CheckRollup(
            service_id=service_id,
            resolution=resolution,
            start=start,
            count=self.count,
            failures=self.failures,
            degraded=self.degraded,
            latency_count=self.latency_count,
            latency_sum=round(self.latency_sum, 3),
            latency_max=self.hist.max_ms,
            histogram=self.hist.to_json(),
            p50_ms=self.hist.quantile(0.50),
            p95_ms=self.hist.quantile(0.95),
            p99_ms=self.hist.quantile(0.99),
        )

    @property
    def uptime(self) -> float | None:
        return None if not self.count else (self.count - self.failures) / self.count


def _upsert(rows: list[CheckRollup]) -> None:
    if rows:
        CheckRollup.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["service", "resolution", "start"],
            update_fields=UPDATE_FIELDS,
        )


# The rows travel as one JSON document (an array of arrays, in _STORE_COLUMNS order): twelve
# arrays of 10,000 values each were dumped and escaped element by element on the client, most of
# a minute's rollup CPU. Floats go through JSON exactly (shortest repr both ways).
_STORE_COLUMNS = [
    ("service_id", "bigint"),
    ("start", "timestamptz"),
    ("count", "int"),
    ("failures", "int"),
    ("degraded", "int"),
    ("latency_count", "int"),
    ("latency_sum", "float8"),
    ("latency_max", "float8"),
    ("histogram", "jsonb"),
    ("p50_ms", "float8"),
    ("p95_ms", "float8"),
    ("p99_ms", "float8"),
]
_STORE_VALUES = [
    f"(v -> {i})" if kind == "jsonb" else f"(v ->> {i})::{kind}" for i, (_, kind) in enumerate(_STORE_COLUMNS)
]
_STORE = f"""
INSERT INTO {CheckRollup._meta.db_table} AS r (service_id, resolution, start, {", ".join(UPDATE_FIELDS)})
SELECT (v ->> 0)::bigint, %s, {", ".join(_STORE_VALUES[1:])}
FROM jsonb_array_elements(%s::jsonb) AS v
ON CONFLICT (service_id, resolution, start) DO UPDATE SET {", ".join(f"{f} = EXCLUDED.{f}" for f in UPDATE_FIELDS)}
"""  # noqa: S608 - the table and column names come from the model


def _store(resolution: str, buckets: dict[tuple[int, dt.datetime], Bucket]) -> None:
    """Write the buckets as rows of ``resolution`` (created or replaced): one statement on PostgreSQL."""
    if not buckets:
        return
    if connection.vendor != "postgresql":
        _upsert([b.to_row(sid, resolution, start) for (sid, start), b in buckets.items()])
        return
    starts: dict[dt.datetime, str] = {}
    rows: list[list[object]] = []
    for (sid, start), b in buckets.items():
        hist = b.hist
        if start not in starts:
            starts[start] = start.isoformat()
        rows.append(
            [
                sid,
                starts[start],
                b.count,
                b.failures,
                b.degraded,
                b.latency_count,
                round(b.latency_sum, 3),
                hist.max_ms,
                hist.to_json(),
                hist.quantile(0.50),
                hist.quantile(0.95),
                hist.quantile(0.99),
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute(_STORE, [resolution, json.dumps(rows)])


def _minutes_from_raw(start: dt.datetime, end: dt.datetime, top: int) -> dict[tuple[int, dt.datetime], Bucket]:
    buckets: dict[tuple[int, dt.datetime], Bucket] = defaultdict(Bucket)
    rows = CheckResult.objects.filter(at__gte=start, at__lt=end, pk__lte=top).values_list(
        "service_id", "at", "ok", "degraded", "latency_ms"
    )
    for service_id, at, ok, degraded, latency in rows.iterator(chunk_size=5000):
        buckets[(service_id, floor_time(at, Resolution.MINUTE))].add_result(ok, degraded, latency)
    return buckets


def _recompute(resolution: str, source: str, parents: dict[dt.datetime, set[int]]) -> dict[dt.datetime, set[int]]:
    """Recompute ``resolution`` rows for {bucket start: service ids} from ``source`` rows."""
    step = {Resolution.HOUR: dt.timedelta(hours=1), Resolution.DAY: dt.timedelta(days=1)}[resolution]
    touched: dict[dt.datetime, set[int]] = defaultdict(set)
    for start, service_ids in sorted(parents.items()):
        buckets: dict[int, Bucket] = defaultdict(Bucket)
        rows = CheckRollup.objects.filter(
            resolution=source, start__gte=start, start__lt=start + step, service_id__in=service_ids
        ).values_list("service_id", *VALUE_FIELDS)
        for service_id, *values in rows.iterator(chunk_size=5000):
            buckets[service_id].add_values(*values)
        _upsert([b.to_row(sid, resolution, start) for sid, b in buckets.items()])
        for sid in buckets:
            touched[floor_time(start, Resolution.DAY)].add(sid)
    return touched


def _rebuild(now: dt.datetime, top: int) -> dict[str, int]:
    """Recompute every bucket from a few minutes before the newest minute row (or from the oldest
    result) up to now, counting results up to id ``top``: the first run, before there is a mark."""
    newest = CheckRollup.objects.filter(resolution=Resolution.MINUTE).aggregate(m=Max("start"))["m"]
    if newest is not None:
        start = floor_time(newest - LOOKBACK, Resolution.MINUTE)
    else:
        oldest = CheckResult.objects.filter(pk__lte=top).aggregate(m=Min("at"))["m"]
        if oldest is None:
            return {"minutes": 0, "hours": 0, "days": 0}
        start = floor_time(oldest, Resolution.MINUTE)
    end = now + dt.timedelta(microseconds=1)
    hours: dict[dt.datetime, set[int]] = defaultdict(set)
    minutes_written = 0
    cursor = start
    while cursor < end:
        chunk_end = min(cursor + CHUNK, end)
        buckets = _minutes_from_raw(cursor, chunk_end, top)
        _upsert([b.to_row(sid, Resolution.MINUTE, minute) for (sid, minute), b in buckets.items()])
        minutes_written += len(buckets)
        for sid, minute in buckets:
            hours[floor_time(minute, Resolution.HOUR)].add(sid)
        cursor = chunk_end
    days = _recompute(Resolution.HOUR, Resolution.MINUTE, hours)
    _recompute(Resolution.DAY, Resolution.HOUR, days)
    return {
        "minutes": minutes_written,
        "hours": sum(len(v) for v in hours.values()),
        "days": sum(len(v) for v in days.values()),
    }


def _committed_top() -> int:
    """The highest CheckResult id below which every insert has committed (or rolled back).

    Ids are handed out when a row is inserted but become visible when its transaction commits, so
    a reader can see id 200 while id 199 is still on its way; a mark moved to 200 would skip 199
    for ever. Taking the table's SHARE lock waits for the transactions writing it to finish (and
    holds new writers back for the instant the lock is held): every id up to the highest one seen
    then is final. SQLite writes one transaction at a time, so there is nothing to wait for.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {CheckResult._meta.db_table} IN SHARE MODE")
        return CheckResult.objects.aggregate(m=Max("pk"))["m"] or 0


def _add_new_results(after: int, top: int) -> dict[str, int]:
    """Add the results with ids in (after, top] to their minute, hour and day rows."""
    minutes: dict[tuple[int, dt.datetime], Bucket] = defaultdict(Bucket)
    rows = CheckResult.objects.filter(pk__gt=after, pk__lte=top).values_list(
        "service_id", "at", "ok", "degraded", "latency_ms"
    )
    counted = 0
    for service_id, at, ok, degraded, latency in rows.iterator(chunk_size=5000):
        minutes[(service_id, floor_time(at, Resolution.MINUTE))].add_result(ok, degraded, latency)
        counted += 1
    levels = {Resolution.MINUTE: minutes}
    for finer, resolution in ((Resolution.MINUTE, Resolution.HOUR), (Resolution.HOUR, Resolution.DAY)):
        coarser: dict[tuple[int, dt.datetime], Bucket] = defaultdict(Bucket)
        for (sid, start), bucket in levels[finer].items():
            coarser[(sid, floor_time(start, resolution))].add_bucket(bucket)
        levels[resolution] = coarser
    for resolution, deltas in levels.items():  # each level from the new results alone, then stored
        _add_to_rows(resolution, deltas)
    return {"results": counted, **{f"{r}s": len(deltas) for r, deltas in levels.items()}}


def _add_to_rows(resolution: str, deltas: dict[tuple[int, dt.datetime], Bucket]) -> None:
    """Add each delta to its stored row (created when missing); the caller holds the mark's lock."""
    by_start: dict[dt.datetime, list[int]] = defaultdict(list)
    for sid, start in deltas:
        by_start[start].append(sid)
    for start, service_ids in by_start.items():
        for service_id, *values in _stored_values(resolution, start, service_ids):
            deltas[(service_id, start)].add_values(*values)
    _store(resolution, deltas)


_STORED = f"""
SELECT service_id, {", ".join(VALUE_FIELDS)} FROM {CheckRollup._meta.db_table}
WHERE resolution = %s AND start = %s AND service_id = ANY(%s::bigint[])
"""  # noqa: S608 - the table and column names come from the model


def _stored_values(resolution: str, start: dt.datetime, service_ids: list[int]) -> Iterable[tuple]:
    """(service_id, *VALUE_FIELDS) of the stored rows of these services in one bucket. On PostgreSQL the
    ids go as one array bound by the server (the ORM's IN list builds, adapts and sends a placeholder per id)."""
    if connection.vendor != "postgresql":
        stored = CheckRollup.objects.filter(resolution=resolution, start=start, service_id__in=service_ids)
        yield from stored.values_list("service_id", *VALUE_FIELDS).iterator(chunk_size=5000)
        return
    with bound_cursor() as cursor:
        cursor.execute(_STORED, [resolution, start, service_ids])
        for *values, histogram in cursor.fetchall():
            # jsonb comes back as text from Django's connection (its JSONField decodes it)
            yield (*values, json.loads(histogram) if isinstance(histogram, str) else histogram)


def rollup(now: dt.datetime | None = None) -> dict[str, int | float]:
    """Bring minute, hour and day rollups up to date with the results stored since the last run.

    The results counted so far are those up to the mark (Watermark "rollup", a CheckResult id):
    each run adds the newer ones to the rows of their minute, hour and day, whenever they were
    checked, and moves the mark, in one transaction that holds the mark's row lock (two runs at
    once take turns). A result is counted exactly once: running again adds nothing, and a run
    that fails adds nothing. The first run, with no mark yet, recomputes the recent buckets from
    the raw results (as every run did before the mark), then sets it.
    """
    began = time.perf_counter()
    now = now or timezone.now()
    Watermark.objects.get_or_create(name=MARK)
    top = _committed_top()
    with transaction.atomic():
        mark = Watermark.objects.select_for_update().get(name=MARK)
        if mark.last_id is None:
            summary: dict[str, int | float] = {**_rebuild(now, top), "rebuilt": 1}
        elif top > mark.last_id:
            summary = _add_new_results(mark.last_id, top)
        else:
            summary = {"minutes": 0, "hours": 0, "days": 0}
        if mark.last_id is None or top > mark.last_id:
            Watermark.objects.filter(pk=mark.pk).update(last_id=top, updated_at=timezone.now())
    summary["seconds"] = round(time.perf_counter() - began, 3)
    log.info("rollup: %s", summary)
    return summary


def rolled_up_to() -> int | None:
    """The highest CheckResult id already counted in the rollups (None before the first run)."""
    return Watermark.objects.filter(name=MARK).values_list("last_id", flat=True).first()


def _delete_before(queryset: object, cutoff_field: str, cutoff: dt.datetime) -> int:
    """Delete in batches so a large backlog never holds one huge transaction."""
    model = queryset.model  # type: ignore[attr-defined]
    deleted = 0
    while True:
        ids = list(queryset.filter(**{f"{cutoff_field}__lt": cutoff}).values_list("pk", flat=True)[:DELETE_BATCH])  # type: ignore[attr-defined]
        if not ids:
            return deleted
        deleted += model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < DELETE_BATCH:
            return deleted


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete history past its retention; raw rows are only deleted once rolled up. Idempotent."""
    now = now or timezone.now()
    raw_cutoff = now - dt.timedelta(days=conf.RAW_RETENTION_DAYS.get())
    counted = rolled_up_to()
    raw_deleted = 0
    if counted is not None:
        raw_deleted = _delete_before(CheckResult.objects.filter(pk__lte=counted), "at", raw_cutoff)
    minutes_deleted = _delete_before(CheckRollup.objects.filter(resolution=Resolution.MINUTE), "start", raw_cutoff)
    long_cutoff = now - dt.timedelta(days=ROLLUP_RETENTION_DAYS)
    long_deleted = _delete_before(
        CheckRollup.objects.filter(resolution__in=[Resolution.HOUR, Resolution.DAY]), "start", long_cutoff
    )
    summary = {"raw": raw_deleted, "minute_rollups": minutes_deleted, "hour_day_rollups": long_deleted}
    log.info("prune: %s", summary)
    return summary


# Reading: statistics over windows --------------------------------------------------------

WINDOWS: dict[str, tuple[str, int]] = {
    "24h": (Resolution.HOUR, 24),
    "7d": (Resolution.HOUR, 24 * 7),
    "30d": (Resolution.DAY, 30),
    "90d": (Resolution.DAY, 90),
}


def window_start(window: str, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """(resolution, first bucket start) of a window ending in the current bucket."""
    resolution, buckets = WINDOWS[window]
    step = dt.timedelta(hours=1) if resolution == Resolution.HOUR else dt.timedelta(days=1)
    return resolution, floor_time(now or timezone.now(), resolution) - step * (buckets - 1)


@dataclass
class WindowStats:
    """Uptime, error rate and latency percentiles of one service over one window."""

    count: int = 0
    failures: int = 0
    degraded: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None

    @property
    def uptime(self) -> float | None:
        return None if not self.count else (self.count - self.failures) / self.count

    @property
    def error_rate(self) -> float | None:
        return None if not self.count else self.failures / self.count

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "checks": self.count,
            "failures": self.failures,
            "uptime": None if self.uptime is None else round(self.uptime, 6),
            "error_rate": None if self.error_rate is None else round(self.error_rate, 6),
            "p50_ms": _round(self.p50_ms),
            "p95_ms": _round(self.p95_ms),
            "p99_ms": _round(self.p99_ms),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def stats_from_rows(rows: Iterable[CheckRollup]) -> WindowStats:
    bucket = Bucket()
    for row in rows:
        bucket.add_rollup(row)
    return WindowStats(
        count=bucket.count,
        failures=bucket.failures,
        degraded=bucket.degraded,
        p50_ms=bucket.hist.quantile(0.50),
        p95_ms=bucket.hist.quantile(0.95),
        p99_ms=bucket.hist.quantile(0.99),
        mean_ms=(bucket.latency_sum / bucket.latency_count) if bucket.latency_count else None,
    )


def window_rows(
    service_ids: Iterable[int], windows: Iterable[str], now: dt.datetime | None = None
) -> dict[str, dict[int, list[CheckRollup]]]:
    """Rollup rows per window per service, with one query per resolution used."""
    now = now or timezone.now()
    wanted = list(windows)
    ids = list(service_ids)
    by_resolution: dict[str, dt.datetime] = {}
    for window in wanted:
        resolution, start = window_start(window, now)
        by_resolution[resolution] = min(start, by_resolution.get(resolution, start))
    fetched: dict[str, list[CheckRollup]] = {}
    for resolution, start in by_resolution.items():
        fetched[resolution] = list(
            CheckRollup.objects.filter(resolution=resolution, start__gte=start, service_id__in=ids).order_by("start")
        )
    result: dict[str, dict[int, list[CheckRollup]]] = {}
    for window in wanted:
        resolution, start = window_start(window, now)
        per: dict[int, list[CheckRollup]] = defaultdict(list)
        for row in fetched[resolution]:
            if row.start >= start:
                per[row.service_id].append(row)
        result[window] = per
    return result


def window_stats(
    service_ids: Iterable[int], windows: Iterable[str], now: dt.datetime | None = None
) -> dict[str, dict[int, WindowStats]]:
    """{window: {service id: stats}} for every service (empty stats when there is no data)."""
    ids = list(service_ids)
    rows = window_rows(ids, windows, now)
    return {w: {sid: stats_from_rows(per.get(sid, [])) for sid in ids} for w, per in rows.items()}
