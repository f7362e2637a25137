"""JSON API for services: list, one service, and its raw results since a time (keyset-paged)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from monitoring.services.choices import ServiceKind, ServiceStatus
from monitoring.services.models import CheckResult, Service
from monitoring.services.rollups import WindowStats, window_stats
from opsportal.access import api_error, api_view

SUMMARY_WINDOWS = ("24h", "30d")
DETAIL_WINDOWS = ("24h", "7d", "30d", "90d")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _last_result(service: Service) -> dict[str, Any] | None:
    if service.last_checked_at is None:
        return None
    return {
        "at": _iso(service.last_checked_at),
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
        "since": _iso(service.status_since),
        "reason": service.status_reason,
        "last_result": _last_result(service),
        "cert_expires_at": _iso(service.cert_expires_at),
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


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("page: a whole number from 1")
    return int(raw)


@api_view("monitoring.view_service")
def services(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/services?status=&kind=&tag=&page= : state, last result, uptime and p95 (24 h, 30 d)."""
    rows = Service.objects.prefetch_related("tags").order_by("name", "pk")
    status, kind, tag = request.GET.get("status"), request.GET.get("kind"), request.GET.get("tag")
    if status:
        if status not in ServiceStatus.values:
            return api_error(400, f"status: one of {', '.join(ServiceStatus.values)}")
        rows = (
            rows.filter(enabled=False) if status == ServiceStatus.PAUSED else rows.filter(status=status, enabled=True)
        )
    if kind:
        if kind not in ServiceKind.values:
            return api_error(400, f"kind: one of {', '.join(ServiceKind.values)}")
        rows = rows.filter(kind=kind)
    if tag:
        rows = rows.filter(tags__name=tag)
    try:
        number = _page_number(request)
    except ValueError as exc:
        return api_error(400, str(exc))
    paginator = Paginator(rows, settings.API_PAGE_SIZE)
    try:
        page = paginator.page(number)
    except EmptyPage:
        return api_error(404, f"page {number} does not exist (there are {paginator.num_pages})")
    items = list(page.object_list)
    stats = window_stats([s.pk for s in items], SUMMARY_WINDOWS)
    return JsonResponse(
        {
            "count": paginator.count,
            "page": number,
            "pages": paginator.num_pages,
            "next": _page_link(request, number + 1) if page.has_next() else None,
            "results": [service_json(s, {w: stats[w][s.pk] for w in SUMMARY_WINDOWS}) for s in items],
        }
    )


def _page_link(request: HttpRequest, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


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


def _parse_time(name: str, raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None:
        raise ValueError(f"{name}: not an ISO-8601 time such as 2026-01-31T12:00:00Z")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _encode_cursor(result: CheckResult) -> str:
    return base64.urlsafe_b64encode(f"{result.at.isoformat()}|{result.pk}".encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> tuple[dt.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, _, pk = text.rpartition("|")
        moment = parse_datetime(at)
        if moment is None:
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("cursor: not a cursor returned by this API") from None


@api_view("monitoring.view_service")
def service_results(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/v1/services/<slug>/results?since=&until=&limit=&cursor= : raw results, oldest first."""
    svc = Service.objects.filter(slug=slug).first()
    if svc is None:
        return api_error(404, f"no service {slug!r}")
    try:
        since = _parse_time("since", request.GET.get("since")) or timezone.now() - dt.timedelta(hours=24)
        until = _parse_time("until", request.GET.get("until"))
        cursor = _decode_cursor(request.GET["cursor"]) if request.GET.get("cursor") else None
        raw_limit = request.GET.get("limit", str(settings.API_PAGE_SIZE))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= settings.API_PAGE_SIZE:
            raise ValueError(f"limit: a whole number from 1 to {settings.API_PAGE_SIZE}")
    except ValueError as exc:
        return api_error(400, str(exc))
    limit = int(raw_limit)
    rows = CheckResult.objects.filter(service=svc, at__gte=since).order_by("at", "id")
    if until is not None:
        rows = rows.filter(at__lt=until)
    if cursor is not None:
        at, pk = cursor
        rows = rows.filter(Q(at__gt=at) | Q(at=at, id__gt=pk))
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_url = None
    if more:
        query = request.GET.copy()
        query["cursor"] = _encode_cursor(page[-1])
        query["since"] = since.isoformat()
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return JsonResponse(
        {
            "service": svc.slug,
            "since": since.isoformat(),
            "until": _iso(until),
            "next": next_url,
            "results": [
                {
                    "at": r.at.isoformat(),
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
