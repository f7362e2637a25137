"""JSON API for services: list, one service, and its raw results since a time (keyset-paged)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone

from monitoring.services.choices import ServiceKind, ServiceStatus
from monitoring.services.models import CheckResult, Service
from monitoring.services.rollups import WindowStats, window_stats
from opsportal.access import api_error, api_view
from opsportal.apidoc import (
    BOOL,
    INT,
    NUM,
    SLUG,
    STR,
    TIME,
    Answer,
    arr,
    component,
    describe,
    described,
    enum,
    mapping,
    null,
    obj,
    page_of,
    query,
    tag,
)
from opsportal.web import ApiError, api_page, iso, limit_param, page_link, parse_time, time_param

SUMMARY_WINDOWS = ("24h", "30d")
DETAIL_WINDOWS = ("24h", "7d", "30d", "90d")

SERVICES = tag("Services", "Watched services: state, last result, uptime, latency and raw results.")
TIME_PARAM = "ISO-8601 with a zone (a time without one is read as UTC)."
WINDOW = component(
    "WindowStats",
    obj(
        {
            "checks": INT,
            "failures": INT,
            "uptime": null(described(NUM, "0..1; null without checks.")),
            "error_rate": null(NUM),
            "p50_ms": null(NUM),
            "p95_ms": null(NUM),
            "p99_ms": null(NUM),
        },
        description="Probe figures over one window.",
    ),
)
LAST_RESULT = obj({"at": TIME, "ok": null(BOOL), "latency_ms": null(NUM), "status_code": null(INT), "error": STR})
SERVICE_FIELDS = {
    "slug": SLUG,
    "name": STR,
    "kind": enum(ServiceKind.values),
    "environment": STR,
    "tags": arr(STR),
    "enabled": BOOL,
    "status": enum(ServiceStatus.values),
    "since": described(TIME, "When the service entered its status."),
    "reason": STR,
    "last_result": null(LAST_RESULT),
    "cert_expires_at": null(TIME),
}
SERVICE = component(
    "Service",
    obj({**SERVICE_FIELDS, "windows": mapping(WINDOW, description="24h and 30d.")}),
)
CHECK = obj(
    {
        "check_type": STR,
        "url": STR,
        "method": STR,
        "headers": mapping(STR),
        "secret_headers_from_env": described(mapping(STR), "Header -> the environment variable holding its value."),
        "accepted_statuses": STR,
        "expect_json_path": STR,
        "expect_json_value": STR,
        "expect_text": STR,
        "degraded_latency_ms": INT,
        "interval_seconds": INT,
        "timeout_seconds": NUM,
        "fail_threshold": INT,
        "recover_threshold": INT,
        "body_limit_bytes": INT,
        "max_redirects": INT,
        "verify_tls": BOOL,
        "cert_warn_days": INT,
        "cert_alert_days": INT,
        "host": STR,
        "port": null(INT),
        "dsn_env": STR,
        "parent": null(SLUG),
    }
)
SERVICE_DETAIL = component(
    "ServiceDetail",
    obj(
        {
            **SERVICE_FIELDS,
            "windows": mapping(WINDOW, description="24h, 7d, 30d and 90d."),
            "check": CHECK,
            "results_url": {"type": "string", "format": "uri"},
        }
    ),
)
RESULT = obj(
    {"at": TIME, "ok": BOOL, "degraded": BOOL, "latency_ms": null(NUM), "status_code": null(INT), "error": STR}
)


def _last_result(service: Service) -> dict[str, Any] | None:
    if service.last_checked_at is None:
        return None
    return {
        "at": iso(service.last_checked_at),
        "ok": service.last_ok,
        "latency_ms": service.last_latency_ms,
        "status_code": service.last_status_code,
        "error": service.last_error,
    }


def service_json(service: Service, stats: dict[str, WindowStats]) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name,
        "kind": service.kind,
        "environment": service.environment,
        "tags": [t.name for t in service.tags.all()],
        "enabled": service.enabled,
        "status": service.effective_status,
        "since": iso(service.status_since),
        "reason": service.status_reason,
        "last_result": _last_result(service),
        "cert_expires_at": iso(service.cert_expires_at),
        "windows": {name: s.as_dict() for name, s in stats.items()},
    }


def _config_json(service: Service) -> dict[str, Any]:
    """Check configuration; secret headers show only the environment variable names."""
    return {
        "check_type": service.check_type,
        "url": service.url,
        "method": service.method,
        "headers": service.headers,
        "secret_headers_from_env": service.secret_headers,
        "accepted_statuses": service.accepted_statuses,
        "expect_json_path": service.expect_json_path,
        "expect_json_value": service.expect_json_value,
        "expect_text": service.expect_text,
        "degraded_latency_ms": service.degraded_latency_ms,
        "interval_seconds": service.interval_seconds,
        "timeout_seconds": service.timeout_seconds,
        "fail_threshold": service.fail_threshold,
        "recover_threshold": service.recover_threshold,
        "body_limit_bytes": service.body_limit_bytes,
        "max_redirects": service.max_redirects,
        "verify_tls": service.verify_tls,
        "cert_warn_days": service.cert_warn_days,
        "cert_alert_days": service.cert_alert_days,
        "host": service.host,
        "port": service.port,
        "dsn_env": service.dsn_env,
        "parent": service.parent.slug if service.parent_id else None,
    }


@describe(
    "GET",
    "List services",
    tag=SERVICES,
    params=[
        query("status", enum(ServiceStatus.values)),
        query("kind", enum(ServiceKind.values)),
        query("tag", STR, "A tag name."),
        query("page", {"type": "integer", "minimum": 1}),
    ],
    answers={200: Answer("One page of services, by name.", page_of(SERVICE))},
    errors=(400,),
)
@api_view("monitoring.view_service")
def services(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/services?status=&kind=&tag=&page= : state, last result, uptime and p95 (24 h, 30 d)."""
    rows = Service.objects.prefetch_related("tags").order_by("name", "pk")
    status, kind, tag = request.GET.get("status"), request.GET.get("kind"), request.GET.get("tag")
    if status:
        if status not in ServiceStatus.values:
            raise ApiError.field("status", f"one of {', '.join(ServiceStatus.values)}")
        rows = (
            rows.filter(enabled=False) if status == ServiceStatus.PAUSED else rows.filter(status=status, enabled=True)
        )
    if kind:
        if kind not in ServiceKind.values:
            raise ApiError.field("kind", f"one of {', '.join(ServiceKind.values)}")
        rows = rows.filter(kind=kind)
    if tag:
        rows = rows.filter(tags__name=tag)
    page, envelope = api_page(request, rows)
    items = list(page.object_list)
    stats = window_stats([s.pk for s in items], SUMMARY_WINDOWS)
    results = [service_json(s, {w: stats[w][s.pk] for w in SUMMARY_WINDOWS}) for s in items]
    return JsonResponse({**envelope, "results": results})


def _service_or_404(slug: str) -> Service | None:
    return Service.objects.select_related("parent").prefetch_related("tags").filter(slug=slug).first()


@describe(
    "GET",
    "One service",
    tag=SERVICES,
    answers={200: Answer("The service, its check configuration and its figures.", SERVICE_DETAIL)},
    errors=(404,),
)
@api_view("monitoring.view_service")
def service(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/v1/services/<slug>: state, last result, configuration, 24 h / 7 d / 30 d / 90 d figures."""
    svc = _service_or_404(slug)
    if svc is None:
        return api_error(404, f"no service {slug!r}")
    stats = window_stats([svc.pk], DETAIL_WINDOWS)
    data = service_json(svc, {w: stats[w][svc.pk] for w in DETAIL_WINDOWS})
    data["check"] = _config_json(svc)
    data["results_url"] = request.build_absolute_uri(reverse("monitoring:api_service_results", args=[svc.slug]))
    return JsonResponse(data)


def _encode_cursor(result: CheckResult) -> str:
    return base64.urlsafe_b64encode(f"{result.at.isoformat()}|{result.pk}".encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> tuple[dt.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, _, pk = text.rpartition("|")
        return parse_time(at), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise ApiError.field("cursor", "not a cursor returned by this API") from None


@describe(
    "GET",
    "Raw results of a service",
    tag=SERVICES,
    params=[
        query("since", TIME, f"From this time (default: 24 hours ago); {TIME_PARAM}"),
        query("until", TIME, f"Before this time; {TIME_PARAM}"),
        query("limit", {"type": "integer", "minimum": 1}, "Rows a page, at most API_PAGE_SIZE (the default)."),
        query("cursor", STR, "From the previous page's next URL."),
    ],
    answers={
        200: Answer(
            "Results oldest first; next is the URL of the following page (keyset-paged) or null.",
            obj(
                {
                    "service": SLUG,
                    "since": TIME,
                    "until": null(TIME),
                    "next": null({"type": "string", "format": "uri"}),
                    "results": arr(RESULT),
                }
            ),
        )
    },
    errors=(400, 404),
)
@api_view("monitoring.view_service")
def service_results(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/v1/services/<slug>/results?since=&until=&limit=&cursor= : raw results, oldest first."""
    svc = Service.objects.filter(slug=slug).first()
    if svc is None:
        return api_error(404, f"no service {slug!r}")
    since = time_param(request, "since", naive_is_utc=True) or timezone.now() - dt.timedelta(hours=24)
    until = time_param(request, "until", naive_is_utc=True)
    cursor = _decode_cursor(request.GET["cursor"]) if request.GET.get("cursor") else None
    limit = limit_param(request)
    rows = CheckResult.objects.filter(service=svc, at__gte=since).order_by("at", "id")
    if until is not None:
        rows = rows.filter(at__lt=until)
    if cursor is not None:
        at, pk = cursor
        rows = rows.filter(Q(at__gt=at) | Q(at=at, id__gt=pk))
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_url = page_link(request, cursor=_encode_cursor(page[-1]), since=since.isoformat()) if more else None
    return JsonResponse(
        {
            "service": svc.slug,
            "since": iso(since),
            "until": iso(until),
            "next": next_url,
            "results": [
                {
                    "at": iso(r.at),
                    "ok": r.ok,
                    "degraded": r.degraded,
                    "latency_ms": r.latency_ms,
                    "status_code": r.status_code,
                    "error": r.error,
                }
                for r in page
            ],
        }
    )
