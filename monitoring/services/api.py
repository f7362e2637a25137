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
from opsportal.web import ApiError, api_page, iso, limit_param, page_link, parse_time, time_param

SUMMARY_WINDOWS = ("24h", "30d")
DETAIL_WINDOWS = ("24h", "7d", "30d", "90d")


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
