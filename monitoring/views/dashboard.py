"""The dashboard home: every service at a glance (live via htmx), plus the portal's own health.

The page costs a fixed number of queries whatever the number of services: the services
(with tags prefetched), one query for 24 hours of hourly rollups of all of them, and the tag
list for the filter. Pictures are rendered in Python (charts.py), not in template loops.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from opsportal import health
from opsportal.access import console_view
from opsportal.models import Heartbeat

from ..charts import Cell, ms, percent, sparkline, uptime_bar
from ..choices import ServiceStatus
from ..forms import ServiceFilterForm
from ..models import CheckRollup, Resolution, Service, Tag
from ..rollups import floor_time

HOURS = 24
# Worst first: what needs attention is at the top.
STATUS_ORDER = {
    ServiceStatus.DOWN: 0,
    ServiceStatus.DEGRADED: 1,
    ServiceStatus.UNKNOWN: 2,
    ServiceStatus.UP: 3,
    ServiceStatus.PAUSED: 4,
}


@dataclass
class Row:
    """One service on the dashboard, with its pictures already rendered."""

    service: Service
    status: str
    uptime: str
    uptime_bar: SafeString
    spark: SafeString
    last_latency: str
    tags: list[str]


def service_rows(form: ServiceFilterForm, now: dt.datetime | None = None) -> tuple[list[Row], dict[str, int]]:
    now = now or timezone.now()
    services = list(form.filter(Service.objects.all()).prefetch_related("tags").select_related(None))
    services.sort(key=lambda s: (STATUS_ORDER.get(s.effective_status, 9), s.name.lower()))
    first_hour = floor_time(now, Resolution.HOUR) - dt.timedelta(hours=HOURS - 1)
    slots = [first_hour + dt.timedelta(hours=i) for i in range(HOURS)]
    index = {slot: i for i, slot in enumerate(slots)}
    cells: dict[int, list[Cell]] = {}
    p95: dict[int, list[float | None]] = {}
    if services:
        rollups = CheckRollup.objects.filter(
            resolution=Resolution.HOUR, start__gte=first_hour, service_id__in=[s.pk for s in services]
        ).values_list("service_id", "start", "count", "failures", "p95_ms")
        for service_id, start, count, failures, p95_ms in rollups:
            i = index.get(start)
            if i is None:
                continue
            if service_id not in cells:
                cells[service_id] = [Cell(f"{slot:%H:%M} UTC") for slot in slots]
                p95[service_id] = [None] * HOURS
            cells[service_id][i] = Cell(f"{start:%H:%M} UTC", count, failures)
            p95[service_id][i] = p95_ms
    empty_cells = [Cell(f"{slot:%H:%M} UTC") for slot in slots]
    empty_bar = uptime_bar(empty_cells, title="24 h uptime: no data")
    empty_spark = sparkline([None] * HOURS)
    rows = []
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for service in services:
        status = service.effective_status
        counts[status] = counts.get(status, 0) + 1
        service_cells = cells.get(service.pk)
        if service_cells is None:
            bar, spark, up = empty_bar, empty_spark, None
        else:
            total = sum(c.count for c in service_cells)
            failed = sum(c.failures for c in service_cells)
            up = (total - failed) / total if total else None
            bar = uptime_bar(service_cells, title=f"24 h uptime {percent(up)}")
            spark = sparkline(p95[service.pk])
        rows.append(
            Row(
                service=service,
                status=status,
                uptime=percent(up),
                uptime_bar=bar,
                spark=spark,
                last_latency=_last_latency(service),
                tags=[t.name for t in service.tags.all()],
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


@console_view("opsportal.view_console")
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _services_context(request)
    context.update(portal_health=health.run_checks(), heartbeats=Heartbeat.objects.all())
    return render(request, "monitoring/dashboard.html", context)


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
