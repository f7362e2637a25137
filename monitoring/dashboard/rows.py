"""Rows of the board: one <tr> per shown service, rendered in Python, and each row's version.

Rows are built as strings rather than with template tags: two hundred rows of a dozen template
nodes each cost more than the rest of the page. Only the rows a page or a refresh actually sends
are rendered, with their details and their 24 hourly rollups read in one query each for all of them. A row's version
is a checksum of everything the row shows, so the live refresh can tell which rows changed
without rendering them, and a row once rendered is kept in the cache under its version.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db import connection
from django.db.models import IntegerField, QuerySet
from django.db.models.functions import Cast, Extract
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.dashboard.board import Entry, fetch
from monitoring.services.charts import sparkline, uptime_strip
from monitoring.services.choices import Resolution, ServiceKind, ServiceStatus
from monitoring.services.models import CheckRollup, Service
from monitoring.services.rollups import floor_time
from monitoring.services.thresholds import Thresholds
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


def tags_of(
    names: dict[int, str], pks: Collection[int] | None = None, services: QuerySet[Service] | None = None
) -> dict[int, list[str]]:
    """service id -> tag names (sorted), for ``pks``, for every service of the queryset ``services``,
    or (neither given) for every service.

    Pairs come as two integers and are named from ``names`` (tag id -> name, already read).
    """
    pairs = Service.tags.through.objects.all()
    if pks is not None:
        if not pks:
            return {}
        pairs = pairs.filter(service_id__in=list(pks))
    elif services is not None:
        pairs = pairs.filter(service__in=services.values("pk"))
    out: dict[int, list[str]] = defaultdict(list)
    for service_id, tag_id in fetch(pairs.order_by().values_list("service_id", "tag_id")):
        out[service_id].append(names.get(tag_id, "?"))
    for tags in out.values():
        tags.sort()
    return out


DETAIL_FIELDS = (
    "pk",
    "name",
    "slug",
    "environment",
    "status_reason",
    "last_checked_at",
    "last_ok",
    "last_latency_ms",
)


@dataclass(frozen=True, slots=True)
class Detail:
    """What a listed row shows besides its entry: read for the listed services only."""

    name: str
    slug: str
    environment: str
    reason: str
    checked_at: dt.datetime | None
    last_ok: bool | None
    latency_ms: float | None


def details_of(pks: Collection[int]) -> dict[int, Detail]:
    """service id -> its row's details, for ``pks`` (one query; none for no services)."""
    if not pks:
        return {}
    rows = Service.objects.filter(pk__in=list(pks)).order_by().values_list(*DETAIL_FIELDS)
    return {pk: Detail(*rest) for pk, *rest in rows}


def version(entry: Entry, detail: Detail, tags: list[str], hour: dt.datetime, limits: Thresholds | None) -> str:
    """A checksum of what the row of ``entry`` shows: the hour too (its uptime strip moves on every
    hour) and the uptime thresholds (they colour it)."""
    text = "\x1f".join(
        (
            entry.status,
            detail.name,
            entry.kind,
            detail.slug,
            detail.environment,
            detail.reason,
            detail.checked_at.isoformat() if detail.checked_at else "",
            repr(detail.last_ok),
            repr(detail.latency_ms),
            ",".join(tags),
            hour.isoformat(),
            repr(limits),
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


def checked_text(moment: dt.datetime, now: dt.datetime) -> str:
    """When a service was last checked, in UTC (the page's script shows it as "40 s ago").

    Absolute, not relative, so a row's HTML stays true while it is cached and without the script.
    """
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%H:%M:%S} UTC" if now - moment < dt.timedelta(hours=20) else f"{moment:%d %b %H:%M} UTC"


ROW_KEY = "dashboard-row:"  # + row id + ":" + version -> the row's HTML
ROW_SECONDS = 3600  # a version includes the hour: no row is reused past it anyway


class RowPainter:
    """Renders listed rows: from the cache when a row of that version was rendered before, else with
    their pictures, from one rollup query for all the rows missing."""

    def __init__(
        self,
        details: dict[int, Detail],
        tags: dict[int, list[str]],
        limits: Thresholds | None,
        now: dt.datetime,
    ) -> None:
        self.now, self.details, self.tags, self._limits = now, details, tags, limits
        self.slots: dict[int, list[tuple[int, int]]] = {}
        self.p95: dict[int, list[float | None]] = {}
        start = first_hour(now)
        self._start = start
        self._labels = [f"{start + dt.timedelta(hours=i):%H:%M} UTC" for i in range(HOURS)]
        self._empty = (
            uptime_strip([(0, 0)] * HOURS, self._labels, limits=limits, title="24 h uptime: no data"),
            sparkline([None] * HOURS),
        )
        self._kinds = dict(ServiceKind.choices)
        self._url = reverse("monitoring:services")

    def paint(self, wanted: Sequence[tuple[str, Entry, str]]) -> dict[str, SafeString]:
        """row id -> HTML, for (row id, entry, version) triples."""
        keys = {f"{ROW_KEY}{row_id}:{ver}": (row_id, entry) for row_id, entry, ver in wanted}
        found = cache.get_many(list(keys)) if keys else {}
        missing = {key: pair for key, pair in keys.items() if key not in found}
        self._load({entry.pk for _row_id, entry in missing.values()})
        fresh = {key: self.row(entry, row_id) for key, (row_id, entry) in missing.items()}
        if fresh:
            cache.set_many({key: str(html) for key, html in fresh.items()}, ROW_SECONDS)
        return {keys[key][0]: mark_safe(html) for key, html in {**found, **fresh}.items()}  # noqa: S308 - ours

    def _load(self, pks: Collection[int]) -> None:
        if not pks:
            return
        for sid, i, count, failures, p95_ms in _hour_rollups(sorted(pks), self._start):
            if not 0 <= i < HOURS:
                continue
            if sid not in self.slots:
                self.slots[sid] = [(0, 0)] * HOURS
                self.p95[sid] = [None] * HOURS
            self.slots[sid][i] = (count, failures)
            self.p95[sid][i] = p95_ms

    def row(self, entry: Entry, row_id: str) -> SafeString:
        detail = self.details[entry.pk]
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
        if detail.reason and entry.status != ServiceStatus.UP:
            short = detail.reason if len(detail.reason) <= 60 else detail.reason[:59] + "\u2026"
            reason = f'<small class="reason" title="{escape(detail.reason)}">{escape(short)}</small>'
        checked = ""
        if detail.checked_at:
            checked = (
                f'<small><time datetime="{detail.checked_at.isoformat()}" data-ago>'
                f"{checked_text(detail.checked_at, self.now)}</time></small>"
            )
        return mark_safe(  # noqa: S308 - every value is escaped or already-safe SVG
            ROW_HTML.format(
                id=row_id,
                slug=escape(detail.slug),
                status=escape(entry.status),
                url=escape(self._url + detail.slug + "/"),
                name=escape(detail.name),
                kind=escape(self._kinds.get(entry.kind, entry.kind)),
                environment=f" \u00b7 {escape(detail.environment)}" if detail.environment else "",
                reason=reason,
                latency=escape(_last_latency(detail)),
                ago=checked,
                bar=bar,
                uptime=escape(percent(up)),
                spark=spark,
                tags=" ".join(f'<span class="tag">{escape(t)}</span>' for t in self.tags.get(entry.pk, [])),
            )
        )


def _last_latency(detail: Detail) -> str:
    if detail.last_ok is None:
        return "\u2013"
    return ms(detail.latency_ms) if detail.last_ok else "failed"
