"""Role-matrix routes: dashboard, services pages, probe now, import/export, services API."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.role_matrix import API_READ, EDIT, READ, Route, on_success


def _service(users: dict[str, Any]) -> dict[str, Any]:
    from tests.monitoring.services.factories import ServiceFactory

    return {"slug": ServiceFactory(slug="api", url="http://127.0.0.1:9/health", timeout_seconds=1.0).slug}


def _new_service(users: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Frontend",
        "slug": "",
        "kind": "frontend",
        "environment": "production",
        "check_type": "http",
        "url": "http://127.0.0.1:9/",
        "method": "GET",
        "accepted_statuses": "200-299",
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "fail_threshold": 2,
        "recover_threshold": 1,
        "degraded_latency_ms": 2000,
        "body_limit_bytes": 1048576,
        "max_redirects": 5,
        "cert_warn_days": 14,
        "cert_alert_days": 7,
        "enabled": "on",
        "verify_tls": "on",
    }


def _edit_data(users: dict[str, Any]) -> dict[str, Any]:
    return {**_new_service(users), "name": "API", "slug": "api"}


def _import_file(users: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"services": [{"slug": "imported", "name": "Imported", "url": "http://127.0.0.1:9/x"}]})
    return {"file": SimpleUploadedFile("services.json", body.encode(), content_type="application/json")}


def _heartbeat(users: dict[str, Any]) -> dict[str, Any]:
    from tests.monitoring.services.factories import ServiceFactory

    return {"key": ServiceFactory(slug="nightly-backup", check_type="heartbeat", url="").ping_key}


def _heartbeat_status(users: dict[str, Any]) -> dict[str, Any]:
    return {**_heartbeat(users), "status": 0}


PING = {role: 200 for role in ("anon", "outsider", "viewer", "editor", "admin")}

ROUTES = [
    Route("monitoring:dashboard", READ),
    Route("monitoring:dashboard_services", READ),
    Route("monitoring:dashboard_alerts", READ),
    Route("monitoring:services", {**READ, "outsider": 403}),
    Route("monitoring:service_create", EDIT),
    Route("monitoring:service_create", on_success(EDIT, 302), method="POST", data=_new_service),
    Route("monitoring:services_export", READ),
    Route("monitoring:services_import", EDIT),
    Route("monitoring:services_import", on_success(EDIT, 302), method="POST", data=_import_file),
    Route("monitoring:service", READ, setup=_service),
    Route("monitoring:service_edit", EDIT, setup=_service),
    Route("monitoring:service_edit", on_success(EDIT, 302), method="POST", setup=_service, data=_edit_data),
    Route("monitoring:service_delete", EDIT, setup=_service),
    Route("monitoring:service_delete", on_success(EDIT, 302), method="POST", setup=_service),
    Route("monitoring:service_probe", on_success(EDIT, 302), method="POST", setup=_service),
    Route("monitoring:ping", PING, setup=_heartbeat, note="(no sign-in: the key is the credential)"),
    Route("monitoring:ping", PING, method="POST", setup=_heartbeat),
    Route("monitoring:ping_start", PING, setup=_heartbeat),
    Route("monitoring:ping_fail", PING, method="POST", setup=_heartbeat),
    Route("monitoring:ping_exit_status", PING, setup=_heartbeat_status),
    Route("monitoring:api_services", API_READ),
    Route("monitoring:api_service", API_READ, setup=_service),
    Route("monitoring:api_service_results", API_READ, setup=_service),
]
