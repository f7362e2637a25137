"""Request middleware: the audit context (actor, channel, address) and request metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import audit, metrics
from .models import AuditRecord


def channel_for(path: str) -> str:
    if path.startswith("/admin/"):
        return AuditRecord.Channel.ADMIN
    if path.startswith("/api/"):
        return AuditRecord.Channel.API
    return AuditRecord.Channel.CONSOLE


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Attributes every change made while handling a request to the signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user if request.user.is_authenticated else None
        with audit.acting(user, channel_for(request.path), client_ip(request)):
            return self.get_response(request)


class RequestMetricsMiddleware:
    """Counts requests and their durations by view for /metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        metrics.REQUESTS.labels(view=view, method=request.method, status=str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(view=view).observe(time.perf_counter() - start)
        return response
