"""The ping endpoint of heartbeat checks: ``/ping/<uuid>`` and its ``/start``, ``/fail`` and
``/<exit-status>`` forms, for cron jobs and scripts (``curl -fsS -m 10 --retry 5 URL``).

Cheap on purpose: no sign-in, no session, no template; a rate-limit counter in the cache, one
indexed lookup by key, then the writes of ``heartbeats.record_ping``. An unknown key answers 404
after the same lookup a known one takes.
"""

from __future__ import annotations

import time
import uuid

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from monitoring.services import conf
from monitoring.services.choices import CheckType, PingKind
from monitoring.services.heartbeats import BODY_LIMIT, Ping, clean_body, record_ping
from monitoring.services.models import Service
from opsportal.access import public_view

METHODS = ("GET", "HEAD", "POST")
WINDOW_SECONDS = 60
LOOKUP_FIELDS = (
    "pk",
    "slug",
    "check_type",
    "enabled",
    "status",
    "fail_threshold",
    "recover_threshold",
    "consecutive_failures",
    "consecutive_successes",
    "consecutive_slow",
    "consecutive_fast",
    "last_checked_at",
    "heartbeat_schedule",
    "heartbeat_period_seconds",
    "heartbeat_cron",
    "heartbeat_timezone",
    "heartbeat_grace_seconds",
    "last_ping_at",
    "last_start_at",
    "created_at",
)


def _text(status: int, body: str, **headers: str) -> HttpResponse:
    response = HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


def _over_limit(key: uuid.UUID) -> bool:
    """A fixed one-minute window per key, counted in the cache (shared by every web process)."""
    bucket = f"ping:{key.hex}:{int(time.time() // WINDOW_SECONDS)}"
    if cache.add(bucket, 1, WINDOW_SECONDS + 5):
        return False
    try:
        return cache.incr(bucket) > conf.PING_RATE_LIMIT.get()
    except ValueError:  # the bucket expired between add and incr
        cache.add(bucket, 1, WINDOW_SECONDS + 5)
        return False


def _ping(request: HttpRequest, key: uuid.UUID, kind: str, exit_status: int | None = None) -> HttpResponse:
    if request.method not in METHODS:
        return _text(405, "use GET, HEAD or POST", Allow=", ".join(METHODS))
    if _over_limit(key):
        return _text(429, "rate limited: too many pings for this check", **{"Retry-After": str(WINDOW_SECONDS)})
    service = (
        Service.objects.filter(ping_key=key, check_type=CheckType.HEARTBEAT).only(*LOOKUP_FIELDS).order_by().first()
    )
    if service is None:
        return _text(404, "not found")
    body = clean_body(request.read(BODY_LIMIT)) if request.method == "POST" else ""
    record_ping(
        service,
        Ping(
            kind=kind,
            exit_status=exit_status,
            method=request.method,
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            body=body,
        ),
    )
    return _text(200, "OK" if service.enabled else "OK (the check is paused: ping stored, not alerted)")


PUBLIC_REASON = "cron jobs ping without signing in; the unguessable key in the URL is the credential"


@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_success(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, PingKind.SUCCESS)


@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_start(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, PingKind.START)


@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_fail(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, PingKind.FAIL)


@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_exit_status(request: HttpRequest, key: uuid.UUID, status: int) -> HttpResponse:
    if status > 255:
        return _text(400, "exit status: a number from 0 to 255")
    return _ping(request, key, PingKind.SUCCESS if status == 0 else PingKind.FAIL, status)
