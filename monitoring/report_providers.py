"""Facts monitoring offers other apps by name (``public.register_evidence``) for maintenance's
security registry and monthly report: per-service uptime and p95 over a period, alert counts with
MTTA/MTTR, notification channels (never their URL: a keyed hash that changes when it does), and
TLS certificates with their expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from django.conf import settings

from .alerts.alerting import alert_stats
from .models import Alert, CheckRollup, NotificationChannel, Resolution, Service
from .services.rollups import stats_from_rows


def service_report(*, start: dt.datetime, end: dt.datetime, **_: Any) -> dict[str, Any]:
    """Uptime (share of probes that passed) and p95 latency per service from hour rollups in [start, end)."""
    rows: dict[int, list[CheckRollup]] = {}
    for row in CheckRollup.objects.filter(resolution=Resolution.HOUR, start__gte=start, start__lt=end):
        rows.setdefault(row.service_id, []).append(row)
    services = []
    for service in Service.objects.order_by("name"):
        stats = stats_from_rows(rows.get(service.pk, []))
        services.append(
            {
                "slug": service.slug,
                "name": service.name,
                "uptime": stats.uptime,
                "p95_ms": stats.p95_ms,
                "checks": stats.count,
            }
        )
    return {
        "ok": True,
        "services": services,
        "note": "uptime is the share of probes that passed (hour rollups); p95 is exact to one histogram bucket (about 9 %)",
    }


def alert_report(*, start: dt.datetime, end: dt.datetime, **_: Any) -> dict[str, Any]:
    """Alerts that started in [start, end) by severity, with MTTA and MTTR in seconds."""
    stats = alert_stats(start, end)
    in_period = Alert.objects.filter(started_at__gte=start, started_at__lt=end)
    return {
        "ok": True,
        "alerts": stats.total,
        "critical": in_period.filter(severity="critical").count(),
        "warning": in_period.filter(severity="warning").count(),
        "acknowledged": stats.acknowledged,
        "resolved": stats.resolved,
        "mtta_seconds": stats.mtta.total_seconds() if stats.mtta is not None else None,
        "mttr_seconds": stats.mttr.total_seconds() if stats.mttr is not None else None,
    }


def _keyed_hash(value: str) -> str:
    if not value:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def notification_channels(**_: Any) -> dict[str, Any]:
    """Channels whose URL holds a token (Apprise), with a keyed hash of the URL, never the URL."""
    rows = NotificationChannel.objects.exclude(url="").order_by("name")
    return {
        "ok": True,
        "channels": [
            {"id": c.pk, "name": c.name, "kind": c.kind, "created_at": c.created_at, "fingerprint": _keyed_hash(c.url)}
            for c in rows
        ],
    }


def tls_certificates(**_: Any) -> dict[str, Any]:
    """Services whose last probe saw a TLS certificate, with its expiry."""
    rows = Service.objects.filter(cert_expires_at__isnull=False).order_by("cert_expires_at")
    return {
        "ok": True,
        "certificates": [
            {"service": s.slug, "name": s.name, "host": _host(s.url), "expires_at": s.cert_expires_at} for s in rows
        ],
    }


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "" if url else ""


def register() -> None:
    from .alerts.public import register_evidence

    register_evidence("service_report", service_report)
    register_evidence("alert_report", alert_report)
    register_evidence("notification_channels", notification_channels)
    register_evidence("tls_certificates", tls_certificates)
