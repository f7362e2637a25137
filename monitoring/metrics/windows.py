"""Checks and failures per service over several windows at once, read from the probe rollups.

``counts_over(windows, now)`` answers {window: {service id: Counts}} in one grouped query over
about two hours of minute rows, plus (for windows of two hours and more) the hour rows before
the previous whole hour, which no longer change and are cached for the rest of the hour. ``Counts.first`` is the start of the oldest rollup row seen in the window,
from which the share of the window the service has been watched (coverage) follows: history
before a service existed counts neither as downtime nor as uptime. A service with data from before
a window (seen in the widest window read with it) covers all of it (``Counts.earlier``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min, Q, Sum

from monitoring.services.models import CheckRollup, Resolution
from opsportal.sql import bound_cursor

# Windows at least this long read whole old hours from hour rows (and the last hour or two from minutes).
HOUR_ROWS_FROM = dt.timedelta(hours=2)
HOUR_CACHE_SECONDS = 2 * 3600
# Windows at least this long read their whole days from day rows.
DAY_ROWS_FROM = dt.timedelta(days=2)


@dataclass
class Counts:
    """Checks and failures of one service in one window, and when its data in the window starts."""

    checks: int = 0
    failures: int = 0
    first: dt.datetime | None = None
    # The service has data from before this window (seen in a wider window read with it): it was
    # watched over all of the window, though its first check inside comes up to an interval late.
    earlier: bool = False

    @property
    def ratio(self) -> float | None:
        """Share of failed checks (0..1), or None without checks."""
        return self.failures / self.checks if self.checks else None

    def add(self, checks: int, failures: int, first: dt.datetime | None) -> None:
        self.checks += checks or 0
        self.failures += failures or 0
        if first is not None and (self.first is None or first < self.first):
            self.first = first

    def coverage(self, window: dt.timedelta, now: dt.datetime) -> float:
        """Share (0..1) of the window since the service's data in it begins; all of it when the
        service has data from before the window (``earlier``)."""
        if self.first is None or not window:
            return 0.0
        if self.earlier:
            return 1.0
        watched = now - max(self.first, now - window)
        return max(0.0, min(1.0, watched / window))


def _grouped(rows: object, windows: list[dt.timedelta], now: dt.datetime) -> dict[int, list[tuple]]:
    aggregates = {}
    for i, window in enumerate(windows):
        inside = Q(start__gt=now - window)  # (now - window, now]: a check exactly a window ago is out
        aggregates[f"n{i}"] = Sum("count", filter=inside)
        aggregates[f"f{i}"] = Sum("failures", filter=inside)
        aggregates[f"s{i}"] = Min("start", filter=inside)
    out: dict[int, list[tuple]] = {}
    for row in rows.order_by().values("service_id").annotate(**aggregates):  # type: ignore[attr-defined]
        out[row["service_id"]] = [(row[f"n{i}"], row[f"f{i}"], row[f"s{i}"]) for i in range(len(windows))]
    return out


def _hours_before(cut: dt.datetime, windows: list[dt.timedelta], now: dt.datetime) -> dict[int, list[tuple]]:
    """Hour rows older than ``cut`` in each window, per service: they no longer change (rollups
    rewrite only the last few minutes), so the answer is cached until the window's first hour or
    ``cut`` moves on, i.e. for the rest of the hour. The newest hour row id is in the key, so new
    history (a fresh install, a test) never meets an old answer."""
    hours = CheckRollup.objects.filter(resolution=Resolution.HOUR, start__lt=cut)
    newest_id = hours.aggregate(m=Max("id"))["m"]
    edges = ",".join(
        f"{int(w.total_seconds())}@{(now - w).replace(minute=0, second=0, microsecond=0).isoformat()}" for w in windows
    )
    key = f"monitoring:hour-counts:{cut.isoformat()}:{edges}:{newest_id}"
    cached = cache.get(key)
    if cached is None:
        cached = _old_counts(cut, windows, now) if newest_id else {}
        cache.set(key, cached, HOUR_CACHE_SECONDS)
    return cached


def _day_floor(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _old_counts(
    cut: dt.datetime, windows: list[dt.timedelta], now: dt.datetime, ids: set[int] | None = None
) -> dict[int, list[tuple]]:
    """Per service and window, the rollups before ``cut``: whole days from day rows (a 30-day window
    reads 30 rows per service, not 720), the partial days at both ends from hour rows."""
    day_cut = _day_floor(cut)
    plans = []  # per window: (hour-row condition, day-row condition or None)
    for window in windows:
        oldest = now - window
        first_day = _day_floor(oldest) + dt.timedelta(days=1)
        if window >= DAY_ROWS_FROM and first_day < day_cut:
            hours = Q(start__gt=oldest, start__lt=first_day) | Q(start__gte=day_cut, start__lt=cut)
            plans.append((hours, Q(start__gte=first_day, start__lt=day_cut)))
        else:
            plans.append((Q(start__gt=oldest, start__lt=cut), None))
    out: dict[int, list[list]] = {}

    def add(rows: object, conditions: list[Q | None]) -> None:
        aggregates = {}
        for i, condition in enumerate(conditions):
            if condition is None:
                continue
            aggregates[f"n{i}"] = Sum("count", filter=condition)
            aggregates[f"f{i}"] = Sum("failures", filter=condition)
            aggregates[f"s{i}"] = Min("start", filter=condition)
        if not aggregates:
            return
        for row in rows.order_by().values("service_id").annotate(**aggregates):  # type: ignore[attr-defined]
            mine = out.setdefault(row["service_id"], [[0, 0, None] for _ in windows])
            for i, condition in enumerate(conditions):
                if condition is None or not row[f"n{i}"]:
                    continue
                mine[i][0] += row[f"n{i}"]
                mine[i][1] += row[f"f{i}"] or 0
                first = row[f"s{i}"]
                mine[i][2] = first if mine[i][2] is None or first < mine[i][2] else mine[i][2]

    hour_where = Q()
    for hours, _days in plans:
        hour_where |= hours
    rollups = CheckRollup.objects.all() if ids is None else CheckRollup.objects.filter(service_id__in=ids)
    add(rollups.filter(hour_where, resolution=Resolution.HOUR), [h for h, _d in plans])
    day_conditions = [d for _h, d in plans]
    if any(day_conditions):
        day_where = Q()
        for condition in day_conditions:
            if condition is not None:
                day_where |= condition
        add(rollups.filter(day_where, resolution=Resolution.DAY), day_conditions)
    return {sid: [tuple(v) for v in values] for sid, values in out.items()}


def counts_over(
    windows: Iterable[dt.timedelta], now: dt.datetime, service_ids: Iterable[int] | None = None
) -> dict[dt.timedelta, dict[int, Counts]]:
    """{window: {service id: Counts}} for every window, each ending at ``now``.

    Windows shorter than two hours read minute rows. Longer ones read the hour rows older than
    the previous whole hour (cached, see ``_hours_before``) plus the minute rows since then, so a
    minute's evaluation reads about two hours of minute rows whatever the windows.
    """
    wanted = sorted(set(windows))
    result: dict[dt.timedelta, dict[int, Counts]] = {w: {} for w in wanted}
    if not wanted:
        return result
    ids = set(service_ids) if service_ids is not None else None
    cut = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    short = [w for w in wanted if w < HOUR_ROWS_FROM]
    long = [w for w in wanted if w >= HOUR_ROWS_FROM]
    fresh_span = now - cut + dt.timedelta(microseconds=1)  # (cut - 1 µs, now]: the row starting at cut is in
    minute_windows = short + ([fresh_span] if long else [])
    minutes = CheckRollup.objects.filter(resolution=Resolution.MINUTE, start__lt=now)
    if ids is not None:
        minutes = minutes.filter(service_id__in=ids)
    for sid, values in _grouped(minutes.filter(start__gt=now - max(minute_windows)), minute_windows, now).items():
        for i, (n, f, first) in enumerate(values):
            if not n:
                continue
            if i < len(short):
                result[short[i]].setdefault(sid, Counts()).add(n, f, first)
            else:
                for window in long:
                    result[window].setdefault(sid, Counts()).add(n, f, first)
    if long:
        # The evaluator (all services, every minute) reads the cached answer; pages asking for their
        # services read those directly (two grouped queries on day and hour rows, however many).
        old = _hours_before(cut, long, now) if ids is None else _old_counts(cut, long, now, ids)
        for sid, values in old.items():
            if ids is not None and sid not in ids:
                continue
            for window, (n, f, first) in zip(long, values, strict=True):
                if n:
                    result[window].setdefault(sid, Counts()).add(n, f, first)
    _mark_earlier(result, wanted, now)
    return result


def _mark_earlier(result: dict[dt.timedelta, dict[int, Counts]], wanted: list[dt.timedelta], now: dt.datetime) -> None:
    """Each window's Counts of a service whose data in the widest window starts before that window
    began (5-minute probes over 1 h: coverage 1, not 0.92 from the first check inside)."""
    widest = result[wanted[-1]]
    for window in wanted[:-1]:
        for sid, counts in result[window].items():
            oldest = widest.get(sid)
            counts.earlier = oldest is not None and oldest.first is not None and oldest.first <= now - window


class SharedCounts:
    """``counts_over`` for one moment, read once for every window asked for up front: the minute's
    evaluation asks for the windows of its ratio metrics and of its burn-rate rules (one grouped
    query over the minute rows instead of one per caller). Each window's answer is the one
    ``counts_over`` gives for it alone; other windows and moments are read as before."""

    def __init__(self, windows: Iterable[dt.timedelta], now: dt.datetime) -> None:
        self.now = now
        self.counts = counts_over(windows, now)

    def over(self, windows: Iterable[dt.timedelta], now: dt.datetime) -> dict[dt.timedelta, dict[int, Counts]]:
        wanted = set(windows)
        if now == self.now and wanted <= self.counts.keys():
            return {w: self.counts[w] for w in wanted}
        return counts_over(wanted, now)


def recent_counts(now: dt.datetime, windows: dict[int, dt.timedelta]) -> dict[int, Counts]:
    """{service id: Counts} of the raw results in each service's own recent window, exact to the second.

    For "is it failing now" questions (the short window of a threshold metric): minute rollups
    lag up to a minute and round to whole minutes; raw results do not. One query.
    """
    from monitoring.services.models import CheckResult

    if not windows:
        return {}
    horizon = now - max(windows.values())
    out: dict[int, Counts] = {}
    if connection.vendor == "postgresql":
        # Counted by the database, each service over its own window (20,000 raw rows a minute at
        # 10,000 services were a Python loop): the same Counts, one row per service.
        sids = list(windows)
        with bound_cursor() as cursor:
            cursor.execute(
                f"SELECT r.service_id, count(*), count(*) FILTER (WHERE NOT r.ok), min(r.at) "  # noqa: S608 - table name from the model
                f"FROM {CheckResult._meta.db_table} AS r "
                "JOIN unnest(%s::bigint[], %s::timestamptz[]) AS w(id, since) ON r.service_id = w.id "
                "WHERE r.at > %s AND r.at <= %s AND r.at > w.since GROUP BY r.service_id",
                [sids, [now - windows[sid] for sid in sids], horizon, now],
            )
            for sid, checks, failures, first in cursor.fetchall():
                out[sid] = Counts(checks, failures, first)
        return out
    rows = CheckResult.objects.filter(at__gt=horizon, at__lte=now, service_id__in=list(windows)).values_list(
        "service_id", "at", "ok"
    )
    for sid, at, ok in rows.iterator(chunk_size=5000):
        if at > now - windows[sid]:
            out.setdefault(sid, Counts()).add(1, 0 if ok else 1, at)
    return out
