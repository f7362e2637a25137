"""The Django admin for monitoring: every page loads for an Admin, channel secrets stay hidden."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from monitoring.alerts.apprise_io import mask_url
from monitoring.alerts.public import raise_alert
from monitoring.models import Alert, MaintenanceWindow, Metric, NotificationChannel, Service, Silence
from opsportal.models import AuditRecord

pytestmark = pytest.mark.django_db

SECRET_URL = "json://127.0.0.1:9/hook?token=very-secret-token-123"


@pytest.fixture
def admin_client(users: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(users["admin"])
    return client


def test_every_monitoring_admin_page_loads(admin_client: Client) -> None:
    service = Service.objects.create(name="API", slug="api", url="http://127.0.0.1:9/api/health")
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring", service=service)
    channel = NotificationChannel.objects.create(name="ops", url=SECRET_URL, url_masked=mask_url(SECRET_URL))
    objects = [service, alert, channel, Metric.objects.first()]
    for model in (Service, Alert, NotificationChannel, Metric, Silence, MaintenanceWindow):
        opts = model._meta
        assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    for obj in objects:
        opts = obj._meta
        response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert response.status_code == 200
        assert b"very-secret-token-123" not in response.content


def test_channel_url_is_write_only_in_admin(admin_client: Client) -> None:
    channel = NotificationChannel.objects.create(name="ops", url=SECRET_URL, url_masked=mask_url(SECRET_URL))
    url = reverse("admin:monitoring_notificationchannel_change", args=[channel.pk])
    changelist = admin_client.get(reverse("admin:monitoring_notificationchannel_changelist"))
    assert b"very-secret-token-123" not in changelist.content
    data = {
        "name": "ops-primary",
        "kind": "apprise",
        "url": "",
        "emails": "",
        "min_severity": "warning",
        "notify_acknowledged": "on",
        "notify_resolved": "on",
        "repeat_minutes": "0",
        "enabled": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    channel.refresh_from_db()
    assert channel.name == "ops-primary" and channel.url == SECRET_URL  # empty field keeps the stored URL
    record = AuditRecord.objects.filter(object_type="monitoring.notificationchannel", action="update").latest("id")
    assert record.channel == "admin" and "very-secret" not in str(record.changes)


def test_alerts_cannot_be_edited_in_admin(admin_client: Client) -> None:
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    url = reverse("admin:monitoring_alert_change", args=[alert.pk])
    assert admin_client.post(url, {"state": "resolved"}).status_code == 403
    assert admin_client.get(reverse("admin:monitoring_alert_add")).status_code == 403


def test_editor_has_no_django_admin(client_for: Any) -> None:
    response = client_for("editor").get(reverse("admin:monitoring_service_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
