"""The dashboard home: every service at a glance (live via htmx), plus the portal's own health.

The page costs a fixed number of queries whatever the number of services: the services
(with tags prefetched), one query for 24 hours of hourly rollups of all of them, and the tag
list for the filter. Pictures are rendered in Python (charts.py), not in template loops.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, IntegerField
from django.db.models.functions import Cast, Extract
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.alerts.choices import AlertState
from monitoring.alerts.models import Alert
from monitoring.alerts.public import evidence
from monitoring.services.charts import sparkline, uptime_strip, uptime_thresholds
from monitoring.services.choices import Resolution, ServiceKind, ServiceStatus
from monitoring.services.forms import ServiceFilterForm
from monitoring.services.models import CheckRollup, Service, Tag
from monitoring.services.rollups import floor_time
from opsportal import health
from opsportal.access import console_view
from opsportal.formatting import ms, percent
from opsportal.models import Heartbeat

HOURS = 24
# Worst first: what needs attention is at the top.
STATUS_ORDER = {
    ServiceStatus.DOWN: 0,
    ServiceStatus.DEGRADED: 1,
    ServiceStatus.UNKNOWN: 2,
    ServiceStatus.UP: 3,
    ServiceStatus.PAUSED: 4,
}


# One table row per service. Rendered in Python rather than with template tags: a thousand rows
# of a dozen template nodes each cost more than everything else on the page together.
ROW_HTML = (
    '<tr data-service="{slug}" data-status="{status}">'
    '<td><a href="{url}"><strong>{name}</strong></a><br><small class="muted">{kind}{environment}</small></td>'
    '<td><span class="badge st-{status}" data-testid="status-{slug}">{status}</span>{reason}</td>'
    '<td class="nowrap">{latency}{ago}</td>'
    '<td>{bar}<small class="muted">{uptime}</small></td>'
    '<td class="hide-sm">{spark}</td>'
    '<td class="hide-sm">{tags}</td></tr>'
)


@dataclass
class Row:
    """One service on the dashboard, with its pictures already rendered."""

    service: Service
    status: str
    uptime: str
    uptime_bar: SafeString
    spark: SafeString
    last_latency: str
    checked_ago: str
    kind_label: str
    tags: list[str]
    url: str

    @property
    def html(self) -> SafeString:
        s = self.service
        reason = ""
        if s.status_reason and self.status != ServiceStatus.UP:
            short = s.status_reason if len(s.status_reason) <= 60 else s.status_reason[:59] + "\u2026"
            reason = f'<br><small class="muted reason" title="{escape(s.status_reason)}">{escape(short)}</small>'
        return mark_safe(  # noqa: S308 - every value is escaped or already-safe SVG
            ROW_HTML.format(
                slug=escape(s.slug),
                status=escape(self.status),
                url=escape(self.url),
                name=escape(s.name),
                kind=escape(self.kind_label),
                environment=f" \u00b7 {escape(s.environment)}" if s.environment else "",
                reason=reason,
                latency=escape(self.last_latency),
                ago=f'<br><small class="muted">{escape(self.checked_ago)}</small>' if self.checked_ago else "",
                bar=self.uptime_bar,
                uptime=escape(self.uptime),
                spark=self.spark,
                tags=" ".join(f'<span class="tag">{escape(t)}</span>' for t in self.tags),
            )
        )


# The columns the board shows; loading only these keeps a thousand rows cheap.
ROW_FIELDS = (
    "pk",
    "name",
    "slug",
    "kind",
    "environment",
    "enabled",
    "status",
    "status_reason",
    "last_checked_at",
    "last_ok",
    "last_latency_ms",
)


def _hour_rollups(services: Any, first_hour: dt.datetime) -> Iterator[tuple[int, int, int, int, float | None]]:
    """(service id, slot, checks, failures, p95) of the last HOURS hourly rollups, in one query."""
    rows = CheckRollup.objects.filter(resolution=Resolution.HOUR, start__gte=first_hour, service__in=services)
    if connection.vendor == "postgresql":
        # One row of arrays per service, with whole seconds instead of timestamps: fetching
        # 24 rows per service as timestamps was most of the page's time at a thousand services.
        epoch = Cast(Extract("start", "epoch"), IntegerField())
        base = int(first_hour.timestamp())
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
    for sid, start, count, failures, p95 in rows.values_list("service_id", "start", "count", "failures", "p95_ms"):
        yield sid, int((start - first_hour).total_seconds()) // 3600, count, failures, p95


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    """A short "how long ago" (the board renders a thousand of them every few seconds)."""
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


def service_rows(form: ServiceFilterForm, now: dt.datetime | None = None) -> tuple[list[Row], dict[str, int]]:
    """The board's rows, worst first, with a fixed number of queries (services, tags, rollups)."""
    now = now or timezone.now()
    filtered = form.narrow(Service.objects.all())
    services = list(filtered.only(*ROW_FIELDS))
    services.sort(key=lambda s: (STATUS_ORDER.get(s.effective_status, 9), s.name.lower()))
    tags: dict[int, list[str]] = defaultdict(list)
    first_hour = floor_time(now, Resolution.HOUR) - dt.timedelta(hours=HOURS - 1)
    labels = [f"{first_hour + dt.timedelta(hours=i):%H:%M} UTC" for i in range(HOURS)]
    slots: dict[int, list[tuple[int, int]]] = {}
    p95: dict[int, list[float | None]] = {}
    if services:
        pairs = Service.tags.through.objects.filter(service__in=filtered.values("pk"))
        for service_id, name in pairs.values_list("service_id", "tag__name").order_by("tag__name"):
            tags[service_id].append(name)
        for service_id, i, count, failures, p95_ms in _hour_rollups(filtered.values("pk"), first_hour):
            if not 0 <= i < HOURS:
                continue
            if service_id not in slots:
                slots[service_id] = [(0, 0)] * HOURS
                p95[service_id] = [None] * HOURS
            slots[service_id][i] = (count, failures)
            p95[service_id][i] = p95_ms
    limits = uptime_thresholds()
    empty_bar = uptime_strip([(0, 0)] * HOURS, labels, limits=limits, title="24 h uptime: no data")
    empty_spark = sparkline([None] * HOURS)
    rows = []
    counts = dict.fromkeys(STATUS_ORDER, 0)
    kind_labels = dict(ServiceKind.choices)
    url_prefix = reverse("monitoring:services")
    for service in services:
        status = service.effective_status
        counts[status] = counts.get(status, 0) + 1
        service_slots = slots.get(service.pk)
        if service_slots is None:
            bar, spark, up = empty_bar, empty_spark, None
        else:
            total = sum(c for c, _f in service_slots)
            failed = sum(f for _c, f in service_slots)
            up = (total - failed) / total if total else None
            bar = uptime_strip(service_slots, labels, limits=limits, title=f"24 h uptime {percent(up)}")
            spark = sparkline(p95[service.pk])
        rows.append(
            Row(
                service=service,
                status=status,
                uptime=percent(up),
                uptime_bar=bar,
                spark=spark,
                last_latency=_last_latency(service),
                checked_ago=ago(service.last_checked_at, now),
                kind_label=kind_labels.get(service.kind, service.kind),
                tags=tags.get(service.pk, []),
                url=url_prefix + service.slug + "/",
            )
        )
    return rows, counts


def _last_latency(service: Service) -> str:
    if service.last_ok is None:
        return "\u2013"
    return ms(service.last_latency_ms) if service.last_ok else "failed"


def _filter_form(request: HttpRequest) -> ServiceFilterForm:
    tags = list(Tag.objects.values_list("name", flat=True))
    return ServiceFilterForm(request.GET or None, tags=tags)


def _services_context(request: HttpRequest) -> dict[str, Any]:
    form = _filter_form(request)
    rows, counts = service_rows(form)
    return {
        "form": form,
        "rows": rows,
        "counts": counts,
        "query": form.query_string(),
        "refreshed_at": timezone.now(),
        "filtered": bool(form.query_string()),
    }


ALERTS_SHOWN = 6


def _alerts_context() -> dict[str, Any]:
    """Open alerts for the top of the dashboard: counts by state and the most urgent few (2 queries)."""
    open_alerts = Alert.objects.exclude(state=AlertState.RESOLVED)
    counts = dict.fromkeys((AlertState.FIRING, AlertState.ACKNOWLEDGED), 0)
    for row in open_alerts.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    urgent = list(
        open_alerts.select_related("service")
        # Firing before acknowledged, critical before warning, newest first.
        .order_by("-state", "severity", "-started_at")[:ALERTS_SHOWN]
    )
    return {"alert_counts": counts, "urgent_alerts": urgent, "alerts_more": max(sum(counts.values()) - len(urgent), 0)}


@console_view("opsportal.view_console")
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _services_context(request)
    context.update(_alerts_context())
    context.update(portal_health=health.run_checks(), heartbeats=Heartbeat.objects.all())
    # Today's checklist progress and open incidents, from the maintenance app's provider (if installed).
    context["maintenance"] = evidence("maintenance_today")
    return render(request, "monitoring/dashboard.html", context)


@console_view("opsportal.view_console")
def dashboard_alerts(request: HttpRequest) -> HttpResponse:
    """The open-alerts panel alone, polled by htmx."""
    return render(request, "monitoring/_dashboard_alerts.html", _alerts_context())


@console_view("opsportal.view_console")
def dashboard_services(request: HttpRequest) -> HttpResponse:
    """The services table alone: what htmx polls every few seconds and swaps in place."""
    context = _services_context(request)
    response = render(request, "monitoring/_dashboard_services.html", context)
    if request.headers.get("HX-Trigger") == "svc-filters":
        # A filter change: keep the address bar in step, so reload and sharing keep the filter.
        query = context["query"]
        response["HX-Push-Url"] = reverse("monitoring:dashboard") + (f"?{query}" if query else "")
    return response
