"""The portal watched from outside: HEARTBEAT_URL is pinged only while the portal is healthy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsportal import outbound
from opsportal.models import Heartbeat, JobRun
from tests.monitoring.services.http_targets import serve

pytestmark = pytest.mark.django_db


def _beats(worker_age: float) -> None:
    now = timezone.now()
    Heartbeat.objects.create(name="worker:w1", kind="worker", last_seen=now - dt.timedelta(seconds=worker_age))
    Heartbeat.objects.create(name="beat:b1", kind="beat", last_seen=now - dt.timedelta(seconds=5))


def test_sent_when_healthy_and_reported_by_health(settings: Any, users: Any) -> None:
    _beats(5)
    with serve() as receiver:
        settings.HEARTBEAT_URL = receiver.url("/ok?key=abc-secret")
        assert outbound.send() == {"sent": True, "http_status": 200}
        assert [(m, p) for m, p, _ in receiver.requests] == [("GET", "/ok")]
    run = JobRun.objects.get(kind=outbound.JOB_KIND)
    assert run.state == JobRun.State.SUCCEEDED and "abc-secret" not in run.summary
    body = Client().get(reverse("api_health")).json()
    assert body["outbound_heartbeat"]["configured"] is True
    assert body["outbound_heartbeat"]["last_sent_at"] == run.finished_at.isoformat()
    assert "abc-secret" not in str(body)


def test_not_sent_when_the_worker_is_stale(settings: Any) -> None:
    _beats(settings.HEARTBEAT_STALE_SECONDS + 60)
    with serve() as receiver:
        settings.HEARTBEAT_URL = receiver.url("/ping/abc")
        result = outbound.send()
        assert receiver.requests == []
    assert result["sent"] is False and result["reason"].startswith("worker: worker last seen")
    body = Client().get(reverse("api_health")).json()
    assert body["outbound_heartbeat"]["last_sent_at"] is None
    assert body["outbound_heartbeat"]["last_result"].startswith("not sent: worker")


def test_unreachable_receiver_fails_the_job_without_echoing_the_url(settings: Any) -> None:
    _beats(5)
    settings.HEARTBEAT_URL = "http://127.0.0.1:9/ping/secret-key"
    with pytest.raises(RuntimeError, match="unreachable"):
        outbound.send()
    run = JobRun.objects.get(kind=outbound.JOB_KIND)
    assert run.state == JobRun.State.FAILED and "secret-key" not in run.error


def test_off_without_a_url(settings: Any) -> None:
    settings.HEARTBEAT_URL = None
    assert outbound.send()["sent"] is False
    assert not JobRun.objects.filter(kind=outbound.JOB_KIND).exists()
    assert Client().get(reverse("api_health")).json()["outbound_heartbeat"] == {"configured": False}
