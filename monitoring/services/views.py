"""Service pages: list, detail (latency, uptime per day, results, flips), edit, probe now, import/export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from monitoring.services import extensions, heartbeat_schedule
from monitoring.services.charts import Cell, LatencyPoint, latency_chart, uptime_bar, uptime_thresholds
from monitoring.services.choices import CheckType, Resolution
from monitoring.services.dispatch import probe_now
from monitoring.services.forms import ImportForm, ServiceFilterForm, ServiceForm
from monitoring.services.import_export import ImportReport, export_services, import_services
from monitoring.services.models import CheckRollup, Service, Tag
from monitoring.services.probes import SWEEP_GRACE_SECONDS
from monitoring.services.rollups import floor_time, stats_from_rows, window_start
from opsportal import audit, bodies
from opsportal.access import console_view, has_perm
from opsportal.formatting import ms, percent
from opsportal.models import AuditRecord

RECENT_RESULTS = 30
DAY_TABLE = 10
RECENT_FLIPS = 20
UPTIME_DAYS = 30
# "Probe now" holds a web worker while it waits; gunicorn kills a worker silent for 30 s (its default).
# A probe still running after this long is left to the dispatcher, which gives it its full timeout.
PROBE_NOW_WAIT_SECONDS = 20.0


@console_view("monitoring.view_service")
def services(request: HttpRequest) -> HttpResponse:
    tags = list(Tag.objects.values_list("name", flat=True))
    form = ServiceFilterForm(request.GET or None, tags=tags)
    rows = list(form.narrow(Service.objects.all()).select_related("parent").prefetch_related("tags").order_by("name"))
    extra = extensions.columns(rows, timezone.now())
    for service in rows:
        service.extra_cells = [cells.get(service.pk, "") for _title, cells in extra]
    return render(
        request,
        "monitoring/services.html",
        {
            "form": form,
            "services": rows,
            "extra_titles": [title for title, _cells in extra],
            "can_edit": has_perm(request, "monitoring.change_service"),
            "can_add": has_perm(request, "monitoring.add_service"),
        },
    )


@console_view("monitoring.add_service", methods=("GET", "HEAD", "POST"))
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        messages.success(request, f"Service {service.name} created; its first probe is due now.")
        return redirect("monitoring:service", slug=service.slug)
    return render(request, "monitoring/service_form.html", {"form": form, "title": "New service"})


def _cert(service: Service, now: dt.datetime) -> dict[str, Any] | None:
    if service.cert_expires_at is None:
        return None
    days = (service.cert_expires_at - now).total_seconds() / 86400
    if days <= service.cert_alert_days:
        css = "down"
    elif days <= service.cert_warn_days:
        css = "degraded"
    else:
        css = "up"
    return {
        "expires_at": service.cert_expires_at,
        "days": int(days) if days > 0 else 0,
        "expired": days <= 0,
        "css": css,
    }


def _chart(rows: list[CheckRollup], start: dt.datetime, end: dt.datetime, service: Service, title: str) -> Any:
    points = [LatencyPoint(r.start, r.p50_ms, r.p95_ms) for r in rows if r.start >= start]
    return latency_chart(points, start=start, end=end, threshold_ms=service.degraded_latency_ms, title=title)


def detail_context(service: Service, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the service page shows, from a fixed number of queries."""
    now = now or timezone.now()
    _res, start_7d = window_start("7d", now)
    _res, start_24h = window_start("24h", now)
    _res, start_90d = window_start("90d", now)
    _res, start_30d = window_start("30d", now)
    hours = list(service.rollups.filter(resolution=Resolution.HOUR, start__gte=start_7d).order_by("start"))
    days = list(service.rollups.filter(resolution=Resolution.DAY, start__gte=start_90d).order_by("start"))
    windows = {
        "24h": stats_from_rows(r for r in hours if r.start >= start_24h),
        "7d": stats_from_rows(hours),
        "30d": stats_from_rows(r for r in days if r.start >= start_30d),
        "90d": stats_from_rows(days),
    }
    stats = [
        {
            "window": name,
            "uptime": percent(s.uptime, 3),
            "error_rate": percent(s.error_rate, 3),
            "p50": ms(s.p50_ms),
            "p95": ms(s.p95_ms),
            "p99": ms(s.p99_ms),
            "checks": s.count,
        }
        for name, s in windows.items()
    ]
    end = floor_time(now, Resolution.HOUR) + dt.timedelta(hours=1)
    day_end = floor_time(now, Resolution.DAY) + dt.timedelta(days=1)
    charts = [
        ("24 hours", _chart(hours, start_24h, end, service, "p50 and p95 latency, last 24 hours")),
        ("7 days", _chart(hours, start_7d, end, service, "p50 and p95 latency, last 7 days")),
        ("30 days", _chart(days, start_30d, day_end, service, "p50 and p95 latency, last 30 days")),
    ]
    by_day = {r.start: r for r in days}
    day_cells = []
    day_rows = []
    limits = uptime_thresholds()
    for i in range(UPTIME_DAYS - 1, -1, -1):
        day = floor_time(now, Resolution.DAY) - dt.timedelta(days=i)
        row = by_day.get(day)
        cell = Cell(f"{day:%a %b %d}", row.count if row else 0, row.failures if row else 0, limits)
        day_cells.append(cell)
        day_rows.append(
            {"day": day, "cell": cell, "uptime": percent(cell.uptime, 3), "p95": ms(row.p95_ms if row else None)}
        )
    return {
        "stats": stats,
        "charts": charts,
        "day_bar": uptime_bar(
            day_cells, width=600, height=28, title=f"uptime per day, last {UPTIME_DAYS} days", fluid=True
        ),
        "day_first": day_rows[0]["day"],
        "day_rows": list(reversed(day_rows))[:DAY_TABLE],
        "cert": _cert(service, now),
    }


@console_view("monitoring.view_service")
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("parent").prefetch_related("tags"), slug=slug)
    context = detail_context(service)
    context.update(
        service=service,
        children=list(service.children.order_by("name")),
        results=list(service.results.order_by("-at", "-id")[:RECENT_RESULTS]),
        flips=list(service.flips.order_by("-at", "-id")[:RECENT_FLIPS]),
        can_edit=has_perm(request, "monitoring.change_service"),
        can_delete=has_perm(request, "monitoring.delete_service"),
        can_probe=has_perm(request, "monitoring.run_probe"),
        secret_headers=sorted((service.secret_headers or {}).items()),
        headers=sorted((service.headers or {}).items()),
        panels=extensions.panels(service, timezone.now()),
    )
    if service.check_type == CheckType.HEARTBEAT:
        context["heartbeat"] = heartbeat_context(request, service)
    return render(request, "monitoring/service_detail.html", context)


def heartbeat_context(request: HttpRequest, service: Service) -> dict[str, object]:
    """The schedule in words, the ping URL, the next expected ping and the recent pings."""
    return {
        "schedule": heartbeat_schedule.describe(service),
        "url": request.build_absolute_uri(service.ping_path),
        "expected": heartbeat_schedule.next_expected(service),
        "late": heartbeat_schedule.is_late(service, timezone.now()),
        "pings": list(service.pings.order_by("-at", "-id")[:RECENT_RESULTS]),
    }


@console_view("monitoring.change_service", methods=("GET", "HEAD", "POST"))
def service_edit(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service, slug=slug)
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        messages.success(request, f"Service {service.name} saved.")
        return redirect("monitoring:service", slug=service.slug)
    return render(
        request, "monitoring/service_form.html", {"form": form, "title": f"Edit {service.name}", "service": service}
    )


@console_view("monitoring.delete_service", methods=("GET", "HEAD", "POST"))
def service_delete(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service, slug=slug)
    if request.method == "POST":
        name = service.name
        with transaction.atomic():
            service.delete()
        messages.success(request, f"Service {name} deleted, with its history.")
        return redirect("monitoring:services")
    counts = {"results": service.results.count(), "children": service.children.count()}
    return render(request, "monitoring/service_confirm_delete.html", {"service": service, "counts": counts})


@console_view("monitoring.run_probe", methods=("POST",))
def service_probe(request: HttpRequest, slug: str) -> HttpResponse:
    """Probe one service right now (waiting at most PROBE_NOW_WAIT_SECONDS); audited."""
    service = get_object_or_404(Service, slug=slug)
    if not service.enabled:
        messages.error(request, f"{service.name} is paused; enable it to probe it.")
        return redirect("monitoring:service", slug=slug)
    report = probe_now([service], deadline=min(service.timeout_seconds + SWEEP_GRACE_SECONDS, PROBE_NOW_WAIT_SECONDS))
    if report.busy:
        messages.warning(request, f"{service.name} is being probed by a worker right now; see its result below.")
        return redirect("monitoring:service", slug=slug)
    if report.skipped:
        audit.record(
            AuditRecord.Action.ACTION,
            service,
            summary=f"probed now: no answer within {PROBE_NOW_WAIT_SECONDS:g} s, handed to the dispatcher",
        )
        messages.warning(
            request,
            f"{service.name} did not answer within {PROBE_NOW_WAIT_SECONDS:g} s. The probe worker runs it next, "
            f"with its full {service.timeout_seconds:g} s timeout; its result appears below.",
        )
        return redirect("monitoring:service", slug=slug)
    _service, outcome = report.rows[0] if report.rows else (service, None)
    service.refresh_from_db()
    summary = outcome.summary() if outcome is not None else "not probed"
    audit.record(AuditRecord.Action.ACTION, service, summary=f"probed now: {summary}")
    level = messages.success if outcome is not None and outcome.ok else messages.error
    level(request, f"Probed {service.name}: {summary}. Status: {service.get_status_display()}.")
    return redirect("monitoring:service", slug=slug)


@console_view("monitoring.view_service")
def services_export(request: HttpRequest) -> HttpResponse:
    data = export_services()
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="services-{timezone.now():%Y%m%d-%H%M}.json"'
    return response


def _file_error(error: bodies.BodyError) -> str:
    if error.path and error.path != "body":
        return str(error)  # services[0].name: contains a NUL character
    if error.message.startswith("body is"):
        return "The file is" + error.message[len("body is") :]
    return f"The file is refused: {error.message}"


@console_view("monitoring.change_service", methods=("GET", "HEAD", "POST"))
def services_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            data = bodies.loads(form.cleaned_data["file"].read())  # the same checks as every JSON body
        except bodies.BodyRefused as refused:
            report = ImportReport(errors=[_file_error(e) for e in refused.errors])
            status = refused.status
        else:
            report = import_services(data)
            if report.ok:
                audit.record(
                    AuditRecord.Action.ACTION,
                    object_type="monitoring.service",
                    object_repr="services import",
                    summary=f"imported {form.cleaned_data['file'].name}: {report.summary()}",
                )
                messages.success(request, f"Import done: {report.summary()}.")
                return redirect("monitoring:services")
    return render(request, "monitoring/services_import.html", {"form": form, "report": report}, status=status)
