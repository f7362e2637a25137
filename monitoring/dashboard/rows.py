"""Rows of the board: one <tr> per shown service, rendered in Python, and each row's version.

Rows are built as strings rather than with template tags: two hundred rows of a dozen template
nodes each cost more than the rest of the page. Only the rows a page or a refresh actually sends
are rendered, with their 24 hourly rollups read in one query for all of them. A row's version
is a checksum of everything the row shows, so the live refresh can tell which rows changed
without rendering them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterator

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import IntegerField
from django.db.models.functions import Cast, Extract
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.dashboard.board import Entry
from monitoring.services.charts import sparkline, uptime_strip, uptime_thresholds
from monitoring.services.choices import Resolution, ServiceKind, ServiceStatus
from monitoring.services.models import CheckRollup, Service
from monitoring.services.rollups import floor_time
from opsportal.formatting import ms, percent

HOURS = 24

ROW_HTML = (
    '<tr id="{id}" data-service="{slug}" data-status="{status}">'
    '<th scope="row"><a href="{url}">{name}</a><small>{kind}{environment}</small></th>'
    '<td><span class="badge st-{status}" data-testid="status-{slug}">{status}</span>{reason}</td>'
    "<td>{latency}{ago}</td>"
    "<td>{bar}<small>{uptime}</small></td>"
    '<td class="hide-sm">{spark}</td>'
    '<td class="hide-sm">{tags}</td></tr>'
)


def first_hour(now: dt.datetime) -> dt.datetime:
    """The start of the oldest of the HOURS hourly slots the rows draw (the current hour is the last)."""
    return floor_time(now, Resolution.HOUR) - dt.timedelta(hours=HOURS - 1)


def tags_of(pks: Collection[int] | None, services: object = None) -> dict[int, list[str]]:
    """service id -> tag names (sorted), for ``pks`` or for every service of the queryset ``services``."""
    pairs = Service.tags.through.objects.all()
    pairs = pairs.filter(service__in=services) if pks is None else pairs.filter(service_id__in=list(pks))
    out: dict[int, list[str]] = defaultdict(list)
    for service_id, name in pairs.values_list("service_id", "tag__name").order_by("tag__name"):
        out[service_id].append(name)
    return out


def version(entry: Entry, tags: list[str], hour: dt.datetime) -> str:
    """A checksum of what the row of ``entry`` shows (the hour: its uptime strip moves on every hour)."""
    text = "\x1f".join(
        (
            entry.status,
            entry.reason,
            entry.name,
            entry.slug,
            entry.kind,
            entry.environment,
            entry.checked_at.isoformat() if entry.checked_at else "",
            repr(entry.last_ok),
            repr(entry.latency_ms),
            ",".join(tags),
            hour.isoformat(),
        )
    )
    return format(zlib.crc32(text.encode()), "08x")


def _hour_rollups(pks: list[int], start: dt.datetime) -> Iterator[tuple[int, int, int, int, float | None]]:
    """(service id, slot, checks, failures, p95) of the hourly rollups from ``start``, in one query."""
    rows = CheckRollup.objects.filter(resolution=Resolution.HOUR, start__gte=start, service_id__in=pks)
    if connection.vendor == "postgresql":
        # One row of arrays per service, with whole seconds instead of timestamps (cheaper to fetch).
        epoch = Cast(Extract("start", "epoch"), IntegerField())
        base = int(start.timestamp())
        grouped = (
            rows.values("service_id")
            .annotate(s=ArrayAgg(epoch), c=ArrayAgg("count"), f=ArrayAgg("failures"), p=ArrayAgg("p95_ms"))
            .order_by()
            .values_list("service_id", "s", "c", "f", "p")
        )
        for sid, seconds, counts, failures, p95s in grouped:
            for second, count, failed, p95 in zip(seconds, counts, failures, p95s, strict=True):
                yield sid, (second - base) // 3600, count, failed, p95
        return
    for sid, at, count, failures, p95 in rows.values_list("service_id", "start", "count", "failures", "p95_ms"):
        yield sid, int((at - start).total_seconds()) // 3600, count, failures, p95


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    """A short "how long ago" (the page's script keeps it current between refreshes)."""
    if moment is None:
        return ""
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now" if seconds < 5 else f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


class RowPainter:
    """Renders rows of given services; their pictures come from one rollup query for all of them."""

    def __init__(self, pks: Collection[int], tags: dict[int, list[str]], now: dt.datetime) -> None:
        self.now, self.tags = now, tags
        self.slots: dict[int, list[tuple[int, int]]] = {}
        self.p95: dict[int, list[float | None]] = {}
        start = first_hour(now)
        self._labels = [f"{start + dt.timedelta(hours=i):%H:%M} UTC" for i in range(HOURS)]
        self._limits = uptime_thresholds()
        if pks:
            for sid, i, count, failures, p95_ms in _hour_rollups(sorted(pks), start):
                if not 0 <= i < HOURS:
                    continue
                if sid not in self.slots:
                    self.slots[sid] = [(0, 0)] * HOURS
                    self.p95[sid] = [None] * HOURS
                self.slots[sid][i] = (count, failures)
                self.p95[sid][i] = p95_ms
        self._empty = (
            uptime_strip([(0, 0)] * HOURS, self._labels, limits=self._limits, title="24 h uptime: no data"),
            sparkline([None] * HOURS),
        )
        self._kinds = dict(ServiceKind.choices)
        self._url = reverse("monitoring:services")

    def row(self, entry: Entry, row_id: str) -> SafeString:
        slots = self.slots.get(entry.pk)
        if slots is None:
            (bar, spark), up = self._empty, None
        else:
            total = sum(c for c, _f in slots)
            failed = sum(f for _c, f in slots)
            up = (total - failed) / total if total else None
            bar = uptime_strip(slots, self._labels, limits=self._limits, title=f"24 h uptime {percent(up)}")
            spark = sparkline(self.p95[entry.pk])
        reason = ""
        if entry.reason and entry.status != ServiceStatus.UP:
            short = entry.reason if len(entry.reason) <= 60 else entry.reason[:59] + "\u2026"
            reason = f'<small class="reason" title="{escape(entry.reason)}">{escape(short)}</small>'
        checked = ""
        if entry.checked_at:
            checked = (
                f'<small><time datetime="{entry.checked_at.isoformat()}" data-ago>'
                f"{ago(entry.checked_at, self.now)}</time></small>"
            )
        return mark_safe(  # noqa: S308 - every value is escaped or already-safe SVG
            ROW_HTML.format(
                id=row_id,
                slug=escape(entry.slug),
                status=escape(entry.status),
                url=escape(self._url + entry.slug + "/"),
                name=escape(entry.name),
                kind=escape(self._kinds.get(entry.kind, entry.kind)),
                environment=f" \u00b7 {escape(entry.environment)}" if entry.environment else "",
                reason=reason,
                latency=escape(_last_latency(entry)),
                ago=checked,
                bar=bar,
                uptime=escape(percent(up)),
                spark=spark,
                tags=" ".join(f'<span class="tag">{escape(t)}</span>' for t in self.tags.get(entry.pk, [])),
            )
        )


def _last_latency(entry: Entry) -> str:
    if entry.last_ok is None:
        return "\u2013"
    return ms(entry.latency_ms) if entry.last_ok else "failed"
