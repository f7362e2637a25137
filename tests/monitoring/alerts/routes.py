"""Role-matrix routes: metrics, alerts, silences, maintenance windows, channels, alerts API and ingest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests.role_matrix import ADMIN_ONLY, API_EDIT, API_READ, EDIT, READ, Route, on_success


def _alert(users: dict[str, Any]) -> dict[str, Any]:
    from monitoring.alerts.public import raise_alert

    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    return {"pk": alert.pk}


def _metric(users: dict[str, Any]) -> dict[str, Any]:
    return {"key": "memory_usage"}


def _silence(users: dict[str, Any]) -> dict[str, Any]:
    from monitoring.models import Silence

    now = timezone.now()
    silence = Silence.objects.create(
        key_prefix="service:", starts_at=now, ends_at=now + dt.timedelta(hours=1), reason="deploy"
    )
    return {"pk": silence.pk}


def _window(users: dict[str, Any]) -> dict[str, Any]:
    from monitoring.models import MaintenanceWindow
    from tests.monitoring.services.factories import ServiceFactory

    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        service=ServiceFactory(slug="db"), starts_at=now, ends_at=now + dt.timedelta(hours=1), reason="upgrade"
    )
    return {"pk": window.pk}


def _channel(users: dict[str, Any]) -> dict[str, Any]:
    from tests.monitoring.alerts.factories import NotificationChannelFactory
    from tests.monitoring.receiver import free_port

    channel = NotificationChannelFactory(
        name="ops", url=f"json://127.0.0.1:{free_port()}/hook"
    )  # nothing listens: the test fails fast
    return {"pk": channel.pk}


def _metric_form(users: dict[str, Any]) -> dict[str, Any]:
    return {
        "target": 60,
        "alert_threshold": 85,
        "clear_threshold": "",
        "for_minutes": 5,
        "severity": "warning",
        "enabled": "on",
    }


def _silence_form(users: dict[str, Any]) -> dict[str, Any]:
    now = timezone.localtime()
    return {
        "key_prefix": "metric:disk_space",
        "recurrence": "once",
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "disk cleanup",
    }


def _web_service(users: dict[str, Any]) -> dict[str, Any]:
    from monitoring.models import Service

    Service.objects.get_or_create(slug="web", defaults={"name": "Web", "url": "http://127.0.0.1:9/"})
    return {}


def _window_form(users: dict[str, Any]) -> dict[str, Any]:
    from monitoring.models import Service

    now = timezone.localtime()
    _web_service(users)
    service = Service.objects.get(slug="web")
    return {
        "service": service.pk,
        "recurrence": "once",
        "duration_minutes": 60,
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "upgrade",
    }


JSON = "application/json"

ROUTES = [
    Route("monitoring:alerts", READ),
    Route("monitoring:alert", READ, setup=_alert),
    Route("monitoring:alert_acknowledge", on_success(EDIT, 302), "POST", setup=_alert, data={"note": "on it"}),
    Route("monitoring:alert_resolve", on_success(EDIT, 302), "POST", setup=_alert, data={"note": "fixed"}),
    Route("monitoring:alert_comment", on_success(EDIT, 302), "POST", setup=_alert, data={"note": "looking"}),
    Route("monitoring:metrics", READ),
    Route("monitoring:metric", READ, setup=_metric),
    Route("monitoring:metric_edit", EDIT, setup=_metric),
    Route("monitoring:metric_edit", on_success(EDIT, 302), "POST", setup=_metric, data=_metric_form, note="save"),
    Route("monitoring:silences", READ),
    Route("monitoring:silence_create", EDIT),
    Route("monitoring:silence_create", on_success(EDIT, 302), "POST", data=_silence_form, note="save"),
    Route("monitoring:silence_expire", on_success(EDIT, 302), "POST", setup=_silence),
    Route("monitoring:maintenance_window_create", EDIT),
    Route("monitoring:maintenance_window_create", on_success(EDIT, 302), "POST", data=_window_form, note="save"),
    Route("monitoring:maintenance_window_delete", on_success(EDIT, 302), "POST", setup=_window),
    Route("monitoring:channels", ADMIN_ONLY),  # channels are configuration: Admins only
    Route("monitoring:channel_create", ADMIN_ONLY),
    Route(
        "monitoring:channel_create",
        on_success(ADMIN_ONLY, 302),
        "POST",
        data={
            "name": "mail",
            "kind": "email",
            "emails": "ops@example.com",
            "min_severity": "warning",
            "repeat_minutes": 0,
            "enabled": "on",
        },
        note="save",
    ),
    Route("monitoring:channel_edit", ADMIN_ONLY, setup=_channel),
    Route("monitoring:channel_delete", on_success(ADMIN_ONLY, 302), "POST", setup=_channel),
    Route("monitoring:channel_test", on_success(ADMIN_ONLY, 302), "POST", setup=_channel),
    Route("monitoring:api_alerts", API_READ),
    Route("monitoring:api_alert", API_READ, setup=_alert),
    Route(
        "monitoring:api_alert_acknowledge", API_EDIT, "POST", setup=_alert, data={"note": "on it"}, content_type=JSON
    ),
    Route("monitoring:api_alert_resolve", API_EDIT, "POST", setup=_alert, data={"note": "done"}, content_type=JSON),
    Route("monitoring:api_silences", API_READ),
    Route(
        "monitoring:api_silences",
        {**API_EDIT, "editor": 201, "admin": 201},
        "POST",
        data=lambda users: {
            "key_prefix": "service:api:",
            "reason": "deploy",
            "ends_at": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
        },
        content_type=JSON,
    ),
    Route("monitoring:api_silence_expire", API_EDIT, "POST", setup=_silence),
    Route(
        "monitoring:api_ingest_metrics",
        API_EDIT,
        "POST",
        data=lambda users: {"samples": [{"metric": "memory_usage", "value": 42.5, "at": timezone.now().isoformat()}]},
        content_type=JSON,
    ),
    Route(
        "monitoring:api_ingest_deployments",
        {**API_EDIT, "editor": 201, "admin": 201},
        "POST",
        setup=_web_service,
        data=lambda users: {
            "service": "web",
            "version": "v1.2.3",
            "status": "succeeded",
            "at": timezone.now().isoformat(),
        },
        content_type=JSON,
    ),
]
