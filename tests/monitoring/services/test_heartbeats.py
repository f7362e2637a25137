"""Heartbeat (push) checks: pings in, deadlines from a period or a cron expression plus grace,
late is down, runs timed from /start, exit statuses, bodies, rate limit, and the README's cron line."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
import zoneinfo
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from monitoring.services.choices import ServiceStatus
from monitoring.services.dispatch import claim_due, probe_claimed, run_due
from monitoring.services.heartbeats import BODY_LIMIT
from monitoring.services.models import CheckResult, HeartbeatPing, Service
from tests.monitoring.services.factories import HeartbeatFactory, ServiceFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def heartbeat(slug: str = "nightly-backup", **fields: Any) -> Service:
    return HeartbeatFactory(slug=slug, **fields)


def ping(service: Service, suffix: str = "", method: str = "get", **kw: Any) -> Any:
    return getattr(Client(), method)(f"/ping/{service.ping_key}{suffix}", **kw)


def fresh(service: Service) -> Service:
    return Service.objects.get(pk=service.pk)


def test_on_time_pings_keep_it_up_and_move_the_deadline() -> None:
    with time_machine.travel(T0, tick=False):
        service = heartbeat()
    assert fresh(service).next_due_at == T0 + dt.timedelta(minutes=70)  # first ping due in an hour, + grace
    for minutes in (50, 110, 170):
        with time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False):
            assert ping(service).status_code == 200
            assert run_due().probed == 0  # never past its deadline
    service = fresh(service)
    assert service.status == ServiceStatus.UP
    assert service.next_due_at == T0 + dt.timedelta(minutes=170 + 70)
    assert CheckResult.objects.filter(service=service, ok=True).count() == 3


def test_late_within_grace_is_up_then_down_after_it_and_back_on_the_next_ping() -> None:
    with time_machine.travel(T0, tick=False):
        service = heartbeat()
        ping(service)
    with time_machine.travel(T0 + dt.timedelta(minutes=65), tick=False):  # late, inside the 10 min grace
        assert run_due().probed == 0
        page = _page(service)
        assert "late" in page and fresh(service).status == ServiceStatus.UP
    with time_machine.travel(T0 + dt.timedelta(minutes=70, seconds=5), tick=False):
        report = run_due()
        assert report.probed == 1 and len(report.flips) == 1
        service = fresh(service)
        assert service.status == ServiceStatus.DOWN
        assert "no ping since 2026-12-01 10:00" in service.status_reason
        assert run_due().probed == 0  # the next deadline is a period (and grace) later, not every tick
    with time_machine.travel(T0 + dt.timedelta(minutes=80), tick=False):
        ping(service)
    assert fresh(service).status == ServiceStatus.UP


def test_a_new_check_that_never_pings_goes_down_at_its_first_deadline() -> None:
    with time_machine.travel(T0, tick=False):
        service = heartbeat()
    with time_machine.travel(T0 + dt.timedelta(minutes=71), tick=False):
        run_due()
    service = fresh(service)
    assert service.status == ServiceStatus.DOWN and "no ping yet" in service.status_reason


def test_cron_schedule_across_midnight_in_a_non_utc_zone() -> None:
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")  # UTC+9: 02:00 in Tokyo is 17:00 UTC the day before
    created = dt.datetime(2026, 12, 1, 23, 30, tzinfo=tokyo)
    with time_machine.travel(created, tick=False):
        service = heartbeat(
            heartbeat_schedule="cron",
            heartbeat_cron="0 2 * * *",
            heartbeat_timezone="Asia/Tokyo",
            heartbeat_grace_seconds=1800,
        )
    expected = dt.datetime(2026, 12, 2, 2, 0, tzinfo=tokyo)
    assert fresh(service).next_due_at == expected + dt.timedelta(minutes=30)
    with time_machine.travel(expected + dt.timedelta(minutes=3), tick=False):  # the job ran after midnight
        ping(service, "/0")
    service = fresh(service)
    assert service.status == ServiceStatus.UP
    assert service.next_due_at == dt.datetime(2026, 12, 3, 2, 30, tzinfo=tokyo)
    with time_machine.travel(dt.datetime(2026, 12, 3, 2, 29, tzinfo=tokyo), tick=False):
        assert run_due().probed == 0
    with time_machine.travel(dt.datetime(2026, 12, 3, 2, 31, tzinfo=tokyo), tick=False):
        assert run_due().probed == 1
    assert fresh(service).status == ServiceStatus.DOWN


def test_start_then_zero_measures_the_run_and_one_is_down() -> None:
    with time_machine.travel(T0, tick=False):
        service = heartbeat()
        assert ping(service, "/start").status_code == 200
    assert CheckResult.objects.filter(service=service).count() == 0  # a start is not a result
    with time_machine.travel(T0 + dt.timedelta(seconds=42), tick=False):
        ping(service, "/0")
    result = CheckResult.objects.get(service=service)
    assert result.ok and result.latency_ms == pytest.approx(42_000)
    assert HeartbeatPing.objects.get(service=service, kind="success").duration_ms == pytest.approx(42_000)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        ping(service, "/1")
    service = fresh(service)
    assert service.status == ServiceStatus.DOWN  # one failed run is down (no second chance)
    assert "exit status 1" in service.status_reason
    assert HeartbeatPing.objects.filter(service=service, kind="fail", exit_status=1).exists()
    ping(service, "/fail")
    assert CheckResult.objects.filter(service=service, ok=False).count() == 2


def test_post_body_is_kept_and_cut_at_10_kb() -> None:
    service = heartbeat()
    log_tail = ('pg_dump: dumping contents of table "public.agents"\n' * 400).encode()
    assert len(log_tail) > BODY_LIMIT
    response = ping(service, "/0", method="post", data=log_tail, content_type="text/plain")
    assert response.status_code == 200
    stored = HeartbeatPing.objects.get(service=service)
    assert stored.body.encode() == log_tail[:BODY_LIMIT] and stored.method == "POST"
    ping(service, method="post", data=b"bad \x00 bytes \xff", content_type="application/octet-stream")
    assert "\x00" not in HeartbeatPing.objects.filter(service=service).first().body


def test_unknown_key_bad_status_and_method() -> None:
    service = heartbeat()
    assert Client().get(f"/ping/{uuid.uuid4()}").status_code == 404
    assert Client().get("/ping/not-a-uuid").status_code == 404
    assert ping(service, "/256").status_code == 400
    assert ping(service, method="put").status_code == 405
    http = ServiceFactory(slug="api-http")  # an HTTP check's key is no ping URL
    assert Client().get(f"/ping/{http.ping_key}").status_code == 404
    assert HeartbeatPing.objects.count() == 0


def test_rate_limit_per_check(settings: Any) -> None:
    settings.PING_RATE_LIMIT = 5
    service, other = heartbeat(), heartbeat("other-job")
    codes = [ping(service).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429, 429]
    assert ping(other).status_code == 200  # per check, not global
    assert HeartbeatPing.objects.filter(service=service).count() == 5


def test_a_ping_between_claim_and_overdue_write_wins() -> None:
    with time_machine.travel(T0, tick=False):
        service = heartbeat()
    with time_machine.travel(T0 + dt.timedelta(minutes=71), tick=False):
        token, claimed = claim_due()
        assert [s.pk for s in claimed] == [service.pk]
        ping(service)  # lands after the dispatcher read the row
        report = probe_claimed(claimed, token)
    assert report.flips == []
    assert fresh(service).status == ServiceStatus.UP
    assert not CheckResult.objects.filter(service=service, ok=False).exists()


def test_schedule_is_validated_in_the_form(client_for: Any) -> None:
    service = heartbeat()
    data = {
        "name": "Nightly backup",
        "slug": service.slug,
        "kind": "other",
        "environment": "production",
        "check_type": "heartbeat",
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "fail_threshold": 1,
        "recover_threshold": 1,
        "degraded_latency_ms": 2000,
        "body_limit_bytes": 1048576,
        "max_redirects": 5,
        "cert_warn_days": 14,
        "cert_alert_days": 7,
        "accepted_statuses": "200-299",
        "method": "GET",
        "enabled": "on",
        "heartbeat_schedule": "cron",
        "heartbeat_cron": "every night",
        "heartbeat_timezone": "Mars/Base",
        "heartbeat_grace_seconds": 600,
    }
    response = client_for("editor").post(reverse("monitoring:service_edit", args=[service.slug]), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "heartbeat_cron" in errors and "heartbeat_timezone" in errors
    data.update(heartbeat_cron="0 2 * * *", heartbeat_timezone="Europe/Berlin")
    response = client_for("editor").post(reverse("monitoring:service_edit", args=[service.slug]), data)
    assert response.status_code == 302
    service = fresh(service)
    assert service.heartbeat_cron == "0 2 * * *" and service.heartbeat_period_seconds == 86400


def test_page_shows_ping_url_to_editors_only(client_for: Any) -> None:
    service = heartbeat()
    ping(service, "/0")
    editor = client_for("editor").get(reverse("monitoring:service", args=[service.slug])).content.decode()
    viewer = client_for("viewer").get(reverse("monitoring:service", args=[service.slug])).content.decode()
    assert str(service.ping_key) in editor and str(service.ping_key) not in viewer
    assert "every 1h 00m, grace 10m 00s" in viewer and "Recent pings" in viewer


def _page(service: Service) -> str:
    from django.contrib.auth import get_user_model

    from tests.conftest import make_user

    user = get_user_model().objects.filter(username="hb-viewer").first() or make_user("hb-viewer", "Viewer")
    client = Client()
    client.force_login(user)
    return client.get(reverse("monitoring:service", args=[service.slug])).content.decode()


def test_the_readme_cron_line_reports_its_own_exit_status(live_server: Any, tmp_path: Any) -> None:
    """The README's wrapped cron line, run by bash: with pipefail a failed pg_dump reports non-zero."""
    service = heartbeat()
    url = f"{live_server.url}/ping/{service.ping_key}"
    failing = f"set -o pipefail; false | gzip > {tmp_path}/db.sql.gz; curl -fsS -m 10 --retry 5 {url}/$?"
    subprocess.run(["bash", "-c", failing], check=True, capture_output=True, timeout=30)
    assert fresh(service).status == ServiceStatus.DOWN
    passing = f"set -o pipefail; echo data | gzip > {tmp_path}/db.sql.gz; curl -fsS -m 10 --retry 5 {url}/$?"
    subprocess.run(["bash", "-c", passing], check=True, capture_output=True, timeout=30)
    assert fresh(service).status == ServiceStatus.UP
    assert list(HeartbeatPing.objects.filter(service=service).order_by("at").values_list("exit_status", flat=True)) == [
        1,
        0,
    ]
