"""Alerts, metrics, silences and channels pages; the alerts API; MTTA/MTTR; secrets never shown again."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.alerts import notify
from monitoring.alerts.alerting import acknowledge, alert_stats, resolve
from monitoring.alerts.public import raise_alert
from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples
from monitoring.models import Alert, Metric, NotificationChannel, Silence
from opsportal.models import AuditRecord
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.receiver import Receiver
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_mtta_and_mttr_over_a_period(users: dict[str, Any]) -> None:
    for n, (ack_after, resolve_after) in enumerate([(2, 10), (4, 30), (None, 20), (None, None)]):
        start = T0 + dt.timedelta(hours=n)
        with time_machine.travel(start, tick=False):
            alert = raise_alert(f"k{n}", summary=f"alert {n}", source="test")
        if ack_after is not None:
            with time_machine.travel(start + dt.timedelta(minutes=ack_after), tick=False):
                acknowledge(alert, users["editor"], "")
        if resolve_after is not None:
            with time_machine.travel(start + dt.timedelta(minutes=resolve_after), tick=False):
                resolve(alert, users["editor"], "")
    stats = alert_stats(T0, T0 + dt.timedelta(days=1))
    assert (stats.total, stats.acknowledged, stats.resolved, stats.open) == (4, 2, 3, 1)
    assert stats.mtta == dt.timedelta(minutes=3)
    assert stats.mttr == dt.timedelta(minutes=20)
    assert alert_stats(T0 + dt.timedelta(hours=2), T0 + dt.timedelta(days=1)).mttr == dt.timedelta(minutes=20)


def test_alerts_page_lists_filters_and_shows_mtta(client_for: Any, users: dict[str, Any]) -> None:
    api = ServiceFactory(slug="api", name="API")
    down = raise_alert("service:api:down", summary="API is down", source="monitoring", service=api)
    raise_alert("metric:disk_space:host:a", summary="Disk Space is 95% on host a", source="metrics", severity="warning")
    resolved = raise_alert("old", summary="An old problem", source="backups")
    resolve(resolved, users["admin"], "fixed")
    page = client_for("viewer").get(reverse("monitoring:alerts")).content.decode()
    assert "API is down" in page and "Disk Space is 95%" in page and "An old problem" not in page
    assert 'data-testid="mtta"' in page
    page = client_for("viewer").get(reverse("monitoring:alerts"), {"state": "resolved"}).content.decode()
    assert "An old problem" in page and "API is down" not in page
    page = (
        client_for("viewer")
        .get(reverse("monitoring:alerts"), {"severity": "critical", "service": "api"})
        .content.decode()
    )
    assert "API is down" in page and "Disk Space" not in page
    page = (
        client_for("viewer")
        .get(reverse("monitoring:alerts"), {"period": "custom", "since": "2020-01-01"})
        .content.decode()
    )
    assert "2020-01-01 to" in page
    assert down.pk


def test_alerts_page_query_count_does_not_grow_with_alerts(client_for: Any, django_assert_max_num_queries: Any) -> None:
    client = client_for("viewer")
    client.get(reverse("monitoring:alerts"))  # warm the session and permission caches
    for n in range(30):
        raise_alert(f"k{n}", summary=f"alert {n}", source="test", service=ServiceFactory(slug=f"s{n}"))
    with django_assert_max_num_queries(15):
        assert client.get(reverse("monitoring:alerts")).status_code == 200


@pytest.mark.usefixtures("ops_channel")
def test_alert_page_timeline_actions_by_role_and_runbook(
    client_for: Any, receiver: Receiver, users: dict[str, Any]
) -> None:
    api = ServiceFactory(slug="api", name="API")
    alert = raise_alert(
        "service:api:down", summary="API is down", source="monitoring", service=api, runbook="Service Is Down"
    )
    notify.run_once()
    url = reverse("monitoring:alert", kwargs={"pk": alert.pk})
    viewer_page = client_for("viewer").get(url).content.decode()
    assert "Service Is Down" in viewer_page
    assert 'data-testid="ack-form"' not in viewer_page and 'data-testid="read-only"' in viewer_page
    editor = client_for("editor")
    assert 'data-testid="ack-form"' in editor.get(url).content.decode()
    response = editor.post(
        reverse("monitoring:alert_acknowledge", kwargs={"pk": alert.pk}), {"note": "restarting the pod"}
    )
    assert response.status_code == 302
    editor.post(reverse("monitoring:alert_comment", kwargs={"pk": alert.pk}), {"note": "pod restarted"})
    again = editor.post(
        reverse("monitoring:alert_acknowledge", kwargs={"pk": alert.pk}), {"note": "me too"}, follow=True
    )
    assert "already acknowledged by eddie-editor" in again.content.decode()
    page = editor.get(url).content.decode()
    assert "restarting the pod" in page and "pod restarted" in page
    assert "sent</span>" in page and "to <strong>ops</strong>, try 1" in page
    assert 'data-testid="ack-form"' not in page and 'data-testid="resolve-form"' in page
    assert viewer_page.count("Acknowledge") == 0


def test_alerts_api_list_detail_acknowledge_and_resolve(token_for: Any, users: dict[str, Any]) -> None:
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    raise_alert("metric:x", summary="x", source="metrics", severity="warning")
    viewer = {"HTTP_AUTHORIZATION": f"Bearer {token_for('viewer')}"}
    editor = {"HTTP_AUTHORIZATION": f"Bearer {token_for('editor')}"}
    client = Client()
    listing = client.get(reverse("monitoring:api_alerts"), {"severity": "critical"}, **viewer).json()
    assert listing["count"] == 1 and listing["results"][0]["dedup_key"] == "service:api:down"
    assert client.get(reverse("monitoring:api_alerts"), {"state": "bogus"}, **viewer).status_code == 400
    detail = client.get(reverse("monitoring:api_alert", kwargs={"pk": alert.pk}), **viewer).json()
    assert [e["kind"] for e in detail["events"]] == ["fired"]
    ack_url = reverse("monitoring:api_alert_acknowledge", kwargs={"pk": alert.pk})
    assert client.post(ack_url, data={"note": "x"}, content_type="application/json", **viewer).status_code == 403
    body = client.post(ack_url, data=json.dumps({"note": "on it"}), content_type="application/json", **editor).json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == "eddie-editor"
    conflict = client.post(ack_url, data="{}", content_type="application/json", **editor)
    assert conflict.status_code == 409 and conflict.json()["state"] == "acknowledged"
    resolve_url = reverse("monitoring:api_alert_resolve", kwargs={"pk": alert.pk})
    assert client.post(resolve_url, data='{"note": 5}', content_type="application/json", **editor).status_code == 400
    done = client.post(resolve_url, content_type="application/json", **editor).json()
    assert done["state"] == "resolved" and done["resolved_by"] == "eddie-editor"
    assert AuditRecord.objects.filter(object_type="monitoring.alert", channel="api").count() == 2


def test_metrics_page_is_the_runbook_table_live(client_for: Any) -> None:
    memory, disk = Metric.objects.get(key="memory_usage"), Metric.objects.get(key="disk_space")
    now = timezone.now()
    record_samples(
        [
            SampleIn(memory.pk, "host:web1", 55.0, now),
            SampleIn(memory.pk, "host:web2", 72.0, now),
            SampleIn(disk.pk, "host:web1:/data", 93.0, now - dt.timedelta(minutes=30)),
            SampleIn(disk.pk, "host:web1:/data", 95.0, now),
        ]
    )
    disk.for_seconds = 0
    disk.save()
    evaluate(compute=False)
    page = client_for("viewer").get(reverse("monitoring:metrics")).content.decode()
    for name, target, alert_if in [("API Response Time (p95)", "&lt;500ms", "&gt;2s"), ("Uptime", "99.9%", "&lt;99%")]:
        assert name in page and target in page and alert_if in page
    row = page.split('data-testid="metric-memory_usage"')[1].split("</tr>")[0]
    assert "72%" in row and "missing target" in row and "host web2" in row and "<svg" in row
    row = page.split('data-testid="metric-disk_space"')[1].split("</tr>")[0]
    assert "95%" in row and "st-alerting" in row and "<path" in row
    row = page.split('data-testid="metric-backup_age"')[1].split("</tr>")[0]
    assert "no data" in row
    assert "Edit thresholds" not in page
    assert "Edit thresholds" in client_for("editor").get(reverse("monitoring:metrics")).content.decode()
    detail = client_for("viewer").get(reverse("monitoring:metric", kwargs={"key": "disk_space"})).content.decode()
    assert "host web1:/data" in detail and "firing" in detail


def test_editing_thresholds_is_validated_and_audited(client_for: Any) -> None:
    url = reverse("monitoring:metric_edit", kwargs={"key": "memory_usage"})
    bad = client_for("editor").post(url, {"target": 90, "alert_threshold": 80, "for_minutes": 5, "severity": "warning"})
    assert bad.status_code == 200 and "must not be above the alert threshold" in bad.content.decode()
    good = client_for("editor").post(
        url,
        {
            "target": 60,
            "alert_threshold": 85,
            "clear_threshold": 75,
            "for_minutes": 2.5,
            "severity": "critical",
            "enabled": "on",
        },
    )
    assert good.status_code == 302
    metric = Metric.objects.get(key="memory_usage")
    assert (metric.alert_label, metric.clear_threshold, metric.for_seconds) == (">85%", 75.0, 150)
    record = AuditRecord.objects.filter(object_type="monitoring.metric", action="update").get()
    assert record.actor_name == "eddie-editor" and record.channel == "console"
    assert record.changes["alert_threshold"] == [80.0, 85.0] and record.changes["for_seconds"] == [300, 150]


def test_channel_secret_is_never_shown_again(client_for: Any, receiver: Receiver) -> None:
    secret_url = f"json://127.0.0.1:{receiver.port}/hooks/very-secret-token-123"
    admin = client_for("admin")
    response = admin.post(
        reverse("monitoring:channel_create"),
        {
            "name": "ops",
            "kind": "apprise",
            "url": secret_url,
            "min_severity": "warning",
            "repeat_minutes": 0,
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    channel = NotificationChannel.objects.get()
    assert channel.url == secret_url and channel.url_masked == f"json://127.0.0.1:{receiver.port}/…"
    pages = [
        admin.get(reverse("monitoring:channels")),
        admin.get(reverse("monitoring:channel_edit", kwargs={"pk": channel.pk})),
    ]
    for page in pages:
        assert page.status_code == 200 and "very-secret-token-123" not in page.content.decode()
    # Channels are configuration: a Viewer is refused the page (and its 403 shows nothing of it).
    refused = client_for("viewer").get(reverse("monitoring:channels"))
    assert refused.status_code == 403 and "very-secret-token-123" not in refused.content.decode()
    # Saving the edit form without typing a URL keeps the stored one.
    admin.post(
        reverse("monitoring:channel_edit", kwargs={"pk": channel.pk}),
        {
            "name": "ops-renamed",
            "kind": "apprise",
            "url": "",
            "min_severity": "critical",
            "repeat_minutes": 5,
            "enabled": "on",
        },
    )
    channel.refresh_from_db()
    assert channel.name == "ops-renamed" and channel.url == secret_url
    for record in AuditRecord.objects.filter(object_type="monitoring.notificationchannel"):
        assert "very-secret-token-123" not in json.dumps(record.changes)
    # Admins send a test notification; it reaches the receiver.
    test = admin.post(reverse("monitoring:channel_test", kwargs={"pk": channel.pk}), follow=True)
    assert "Test notification delivered to ops-renamed" in test.content.decode()
    assert receiver.received[-1]["title"] == "[TEST] Ops Portal test notification"


def test_channel_form_refuses_an_unknown_url_without_echoing_it(client_for: Any) -> None:
    response = client_for("admin").post(
        reverse("monitoring:channel_create"),
        {
            "name": "x",
            "kind": "apprise",
            "url": "nosuchscheme://secret-value",
            "min_severity": "warning",
            "repeat_minutes": 0,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Apprise does not recognise this URL" in page and "secret-value" not in page
    assert not NotificationChannel.objects.exists()


def test_silence_from_an_alert_is_prefilled_and_can_be_ended(client_for: Any) -> None:
    alert = raise_alert("metric:disk_space:host:a", summary="Disk Space is 95%", source="metrics")
    editor = client_for("editor")
    form = editor.get(reverse("monitoring:silence_create"), {"alert": alert.pk}).content.decode()
    assert 'value="metric:disk_space:host:a"' in form
    now = timezone.localtime()
    response = editor.post(
        reverse("monitoring:silence_create"),
        {
            "key_prefix": "metric:disk_space:host:a",
            "recurrence": "once",
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "cleaning up old logs",
        },
    )
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert silence.created_by.username == "eddie-editor"
    listing = client_for("viewer").get(reverse("monitoring:silences")).content.decode()
    assert "cleaning up old logs" in listing and "End now" not in listing
    editor.post(reverse("monitoring:silence_expire", kwargs={"pk": silence.pk}))
    silence.refresh_from_db()
    assert not silence.is_active()
    assert AuditRecord.objects.filter(object_type="monitoring.silence", action="update").exists()


def test_weekly_silence_form_needs_days_and_times(client_for: Any) -> None:
    response = client_for("editor").post(
        reverse("monitoring:silence_create"),
        {"severity": "warning", "recurrence": "weekly", "starts_at": "2026-03-02T09:00", "reason": "nightly jobs"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Choose at least one weekday." in page
    response = client_for("editor").post(
        reverse("monitoring:silence_create"),
        {
            "severity": "warning",
            "recurrence": "weekly",
            "weekday_choices": ["0", "2"],
            "daily_start": "22:00",
            "daily_end": "06:00",
            "starts_at": "2026-03-02T09:00",
            "reason": "nightly jobs",
        },
    )
    assert response.status_code == 302
    assert Silence.objects.get().weekday_set == {0, 2}


def test_acknowledging_a_resolved_alert_from_a_stale_page_is_refused(client_for: Any, users: dict[str, Any]) -> None:
    alert = raise_alert("k", summary="s", source="t")
    resolve(alert, users["admin"], "")
    response = client_for("editor").post(reverse("monitoring:alert_acknowledge", kwargs={"pk": alert.pk}), follow=True)
    assert "already resolved by ada-admin" in response.content.decode()
    assert Alert.objects.get().state == "resolved"


def test_prometheus_metrics_report_open_alerts_and_backlog(client: Client) -> None:
    raise_alert("service:api:down", summary="API is down", source="monitoring")
    raise_alert("metric:x", summary="x", source="metrics", severity="warning")
    NotificationChannel.objects.create(name="mail", kind="email", emails="ops@example.com")
    notify.dispatch_events()
    text = client.get(reverse("metrics")).content.decode()
    assert 'opsportal_alerts_open{severity="critical",state="firing"} 1.0' in text
    assert 'opsportal_alerts_open{severity="warning",state="firing"} 1.0' in text
    assert "opsportal_notifications_pending 2.0" in text


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_alerts_list_and_detail_take_the_same_queries_for_3_or_20_alerts(
    client_for: Any, users: dict[str, Any], receiver: Receiver
) -> None:
    """No query per row: services, actors, channels and attempts are read with their alerts."""
    viewer = client_for("viewer")
    NotificationChannelFactory(name="a", url=receiver.url("a"))
    NotificationChannelFactory(name="b", url=receiver.url("b"))
    counts = []
    for first, last in ((0, 3), (3, 20)):
        for n in range(first, last):
            alert = raise_alert(
                f"k{n}", summary=f"a{n}", source="test", service=ServiceFactory(slug=f"s{n}", name=f"S{n}")
            )
            acknowledge(alert, users["editor"], "looking")
            for _ in range(n % 5 + 1):  # the last alert of each round has a longer timeline
                alert.comment(users["admin"], "a comment")
        notify.drain()
        counts.append(
            (
                _queries(viewer, reverse("monitoring:alerts") + "?state=all"),
                _queries(viewer, reverse("monitoring:alert", kwargs={"pk": alert.pk})),
            )
        )
    assert counts[0] == counts[1]


def test_metrics_page_takes_the_same_queries_for_2_or_12_series(client_for: Any) -> None:
    """No query per series (its metric's staleness limit is read with the catalog)."""
    memory = Metric.objects.get(key="memory_usage")
    viewer = client_for("viewer")
    counts = []
    for hosts in (2, 12):
        record_samples([SampleIn(memory.pk, f"host:web{n}", 50.0 + n, timezone.now()) for n in range(hosts)])
        counts.append(_queries(viewer, reverse("monitoring:metrics")))
    assert counts[0] == counts[1]
