"""GET /api/health: status from the worst check, 503 only when unhealthy, no secrets, no sign-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsportal.models import Heartbeat

pytestmark = pytest.mark.django_db


def _beats(worker_age: float, beat_age: float) -> None:
    now = timezone.now()
    Heartbeat.objects.create(name="worker:w1", kind="worker", last_seen=now - dt.timedelta(seconds=worker_age))
    Heartbeat.objects.create(name="beat:b1", kind="beat", last_seen=now - dt.timedelta(seconds=beat_age))


def test_healthy_when_every_check_passes(client_for: Any) -> None:
    _beats(5, 5)
    response = Client().get(reverse("api_health"))
    body = response.json()
    assert response.status_code == 200 and body["status"] == "healthy", body
    assert set(body["checks"]) == {"database", "broker", "cache", "worker", "scheduler", "disk"}
    assert dt.datetime.fromisoformat(body["timestamp"])
    # Anonymous pollers get no host names or paths; signed-in users do.
    assert all("details" not in c for c in body["checks"].values())
    signed_in = client_for("viewer").get(reverse("api_health")).json()
    assert signed_in["checks"]["worker"]["details"]["name"] == "worker:w1"


def test_degraded_when_worker_heartbeat_is_stale(settings: Any) -> None:
    _beats(settings.HEARTBEAT_STALE_SECONDS + 30, 5)
    response = Client().get(reverse("api_health"))
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["worker"]["status"] == "degraded"
    assert "last seen" in body["checks"]["worker"]["message"]
    assert body["checks"]["scheduler"]["status"] == "healthy"


def test_degraded_when_no_worker_was_ever_seen() -> None:
    body = Client().get(reverse("api_health")).json()
    assert body["status"] == "degraded" and body["checks"]["worker"]["message"] == "no worker has been seen"


def test_unhealthy_when_database_is_unreachable(settings: Any) -> None:
    _beats(5, 5)
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    connection.settings_dict["PASSWORD"] = "hunter2-secret"
    try:
        response = Client().get(reverse("api_health"))
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["checks"]["database"]["status"] == "unhealthy"
    assert b"hunter2" not in response.content and b"postgres" not in response.content.lower().replace(
        b"postgresql", b""
    )


def test_disk_nearly_full_is_unhealthy(monkeypatch: Any) -> None:
    import shutil
    from collections import namedtuple

    _beats(5, 5)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(100, 99, 1))
    response = Client().get(reverse("api_health"))
    assert response.status_code == 503 and response.json()["checks"]["disk"]["status"] == "unhealthy"


def test_redis_broker_unreachable_is_degraded(settings: Any) -> None:
    from opsportal.celery import app

    _beats(5, 5)
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        body = Client().get(reverse("api_health")).json()
    finally:
        app.conf.broker_url = old
    assert body["checks"]["broker"]["status"] == "degraded" and body["status"] == "degraded"


def test_metrics_endpoint_serves_prometheus_text(settings: Any, users: dict[str, Any]) -> None:
    _beats(5, 5)
    client = Client()
    client.get(reverse("api_health"))
    response = client.get(reverse("metrics"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'opsportal_http_requests_total{method="GET",status="200",view="api_health"}' in text
    assert 'opsportal_jobs_total{outcome="succeeded",worker="worker:w1"} 0.0' in text
    assert "opsportal_heartbeat_age_seconds" in text


def test_metrics_token(settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-me"
    assert Client().get(reverse("metrics")).status_code == 401
    assert Client().get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
