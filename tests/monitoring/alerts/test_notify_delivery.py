"""Notifications through a real local HTTP receiver behind Apprise json:// URLs.

Exactly one delivery per (event, channel) with two notifier workers; a delivery made while the
receiver is down arrives once it is back; Retry-After is honoured; giving up; repeats and escalation.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from monitoring.alerts import apprise_io, notify
from monitoring.alerts.alerting import acknowledge
from monitoring.alerts.public import raise_alert, resolve_alert
from monitoring.models import AlertEvent, Notification, NotificationAttempt, NotificationChannel
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.receiver import Receiver, free_port
from tests.monitoring.services.factories import ServiceFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def notified_events(channel: NotificationChannel) -> list[int]:
    return list(
        Notification.objects.filter(channel=channel, state="delivered")
        .order_by("event_id")
        .values_list("event_id", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_deliver_each_event_exactly_once(receiver: Receiver, settings: Any) -> None:
    settings.NOTIFY_GROUP_MAX = 3  # several messages per channel per pass, so the workers really compete
    channels = [
        NotificationChannelFactory(name="ops-a", url=receiver.url("a")),
        NotificationChannelFactory(name="ops-b", url=receiver.url("b")),
    ]
    alerts = [raise_alert(f"service:s{n}:down", summary=f"S{n} is down", source="monitoring") for n in range(12)]
    for alert in alerts[:4]:
        resolve_alert(alert.dedup_key, note="recovered")  # resolved before anyone was told: nothing to send
    stop = threading.Event()
    passes: list[dict[str, int]] = []

    def worker() -> None:
        try:
            while not stop.is_set():
                passes.append(notify.run_once())
                time.sleep(0.01)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    receiver.wait_for(2 * 8)
    # While both keep running: acknowledge and resolve some of the alerts that were told.
    for alert in alerts[4:8]:
        alert.refresh_from_db()
        acknowledge(alert, None, "seen")
    for alert in alerts[8:10]:
        resolve_alert(alert.dedup_key)
    receiver.wait_for(2 * (8 + 4 + 2))
    time.sleep(0.5)  # give a duplicate the chance to show up
    stop.set()
    for t in threads:
        t.join()
    assert sum(p["sent"] for p in passes) == 2 * (8 + 4 + 2)
    for path, channel in zip(("a", "b"), channels, strict=True):
        refs = receiver.refs(path)
        counts = Counter(event for _alert, event in refs)
        assert counts and max(counts.values()) == 1, f"duplicate deliveries to {path}: {counts}"
        expected = set(
            AlertEvent.objects.filter(alert__in=alerts[4:], kind__in=["fired", "acknowledged", "resolved"]).values_list(
                "pk", flat=True
            )
        )
        assert set(counts) == expected
        assert set(notified_events(channel)) == expected
    assert NotificationAttempt.objects.filter(ok=False).count() == 0
    held_back = AlertEvent.objects.filter(alert__in=alerts[:4], kind="fired").values_list("dispatch_note", flat=True)
    assert set(held_back) == {"not sent: resolved before it could be sent"}


@pytest.mark.django_db
def test_a_delivery_made_while_the_receiver_is_down_arrives_when_it_is_back(settings: Any) -> None:
    settings.NOTIFY_BACKOFF_SECONDS = 0.2
    port = free_port()
    channel = NotificationChannelFactory(name="ops", url=f"json://127.0.0.1:{port}/hook")
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    notify.run_once()
    n = Notification.objects.get(channel=channel)
    assert n.state == "pending" and n.attempts == 1 and "could not connect" in n.last_error
    first = NotificationAttempt.objects.get()
    assert not first.ok and n.next_attempt_at >= first.finished_at + dt.timedelta(seconds=0.2)
    notify.run_once()  # not due yet: no second try
    assert NotificationAttempt.objects.count() == 1
    back = Receiver(port=port).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not back.refs():
            time.sleep(0.1)
            notify.run_once()
        assert [event for _a, event in back.refs()] == [alert.events.get(kind="fired").pk]
    finally:
        back.stop()
    n.refresh_from_db()
    assert n.state == "delivered" and n.attempts >= 2
    assert list(n.tries.values_list("ok", flat=True))[-1] is True
    alert.refresh_from_db()
    assert alert.notification_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["120", "http-date"])
def test_retry_after_is_honoured(receiver: Receiver, header: str) -> None:
    with time_machine.travel(T0, tick=False):
        value = "120" if header == "120" else "Mon, 02 Mar 2026 09:02:00 GMT"
        receiver.responses.append((429, {"Retry-After": value}))
        channel = NotificationChannelFactory(name="ops", url=receiver.url())
        raise_alert("service:api:down", summary="API is down", source="monitoring")
        notify.run_once()
        n = Notification.objects.get(channel=channel)
        attempt = n.tries.get()
        assert attempt.status_code == 429 and attempt.retry_after_seconds == pytest.approx(120, abs=1)
        assert n.next_attempt_at == T0 + dt.timedelta(seconds=120)
    with time_machine.travel(T0 + dt.timedelta(seconds=100), tick=False):
        notify.run_once()
        assert not receiver.refs()
    with time_machine.travel(T0 + dt.timedelta(seconds=121), tick=False):
        notify.run_once()
    assert len(receiver.refs()) == 1
    n.refresh_from_db()
    assert n.state == "delivered"


@pytest.mark.django_db
def test_backoff_doubles_and_then_gives_up(receiver: Receiver, settings: Any) -> None:
    settings.NOTIFY_BACKOFF_SECONDS, settings.NOTIFY_MAX_ATTEMPTS = 10, 3
    receiver.responses += [(500, {})] * 3
    channel = NotificationChannelFactory(name="ops", url=receiver.url())
    with time_machine.travel(T0, tick=False):
        raise_alert("service:api:down", summary="API is down", source="monitoring")
        notify.run_once()
    n = Notification.objects.get(channel=channel)
    assert n.next_attempt_at == T0 + dt.timedelta(seconds=10)
    with time_machine.travel(T0 + dt.timedelta(seconds=10), tick=False):
        notify.run_once()
    n.refresh_from_db()
    assert n.next_attempt_at == T0 + dt.timedelta(seconds=10 + 20)
    with time_machine.travel(T0 + dt.timedelta(seconds=30), tick=False):
        notify.run_once()
    n.refresh_from_db()
    assert n.state == "failed" and n.attempts == 3 and n.last_error == "HTTP 500"
    assert list(n.tries.values_list("status_code", flat=True)) == [500, 500, 500]


@pytest.mark.django_db
def test_repeat_while_unacknowledged_and_escalation(receiver: Receiver, users: dict[str, Any]) -> None:
    primary = NotificationChannelFactory(name="primary", url=receiver.url("primary"), repeat_minutes=30)
    boss = NotificationChannelFactory(name="boss", url=receiver.url("boss"), escalate_after_minutes=15)

    def at(minutes: int) -> None:
        with time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False):
            notify.run_once()

    with time_machine.travel(T0, tick=False):
        alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
        notify.run_once()
    assert len(receiver.refs("primary")) == 1 and not receiver.refs("boss")
    at(14)
    assert not receiver.refs("boss")
    at(16)
    assert len(receiver.refs("boss")) == 1
    at(31)
    at(32)  # the reminder is written once per interval, however often the notifier runs
    assert len(receiver.refs("primary")) == 2
    with time_machine.travel(T0 + dt.timedelta(minutes=40), tick=False):
        acknowledge(alert, users["editor"], "on it")
        notify.run_once()
    at(61)
    at(95)
    kinds = Counter(AlertEvent.objects.get(pk=e).kind for _a, e in receiver.refs("primary"))
    assert kinds == {"fired": 1, "repeated": 1, "acknowledged": 1}
    boss_kinds = Counter(AlertEvent.objects.get(pk=e).kind for _a, e in receiver.refs("boss"))
    assert boss_kinds == {"escalated": 1, "acknowledged": 1}
    assert primary.pk and boss.pk


@pytest.mark.django_db
def test_channel_filters_by_severity_service_and_tag(receiver: Receiver) -> None:
    from monitoring.models import Tag

    api, web = ServiceFactory(slug="api"), ServiceFactory(slug="web")
    db_tag = Tag.objects.create(name="tier-1")
    web.tags.add(db_tag)
    critical_only = NotificationChannelFactory(name="pager", url=receiver.url("pager"), min_severity="critical")
    api_only = NotificationChannelFactory(name="api-team", url=receiver.url("api-team"))
    api_only.services.add(api)
    tier1 = NotificationChannelFactory(name="tier1", url=receiver.url("tier1"))
    tier1.tags.add(db_tag)
    raise_alert("service:api:down", summary="API down", source="monitoring", service=api)
    raise_alert("metric:x:web", summary="Web slow", source="metrics", severity="warning", service=web)
    notify.run_once()
    assert len(receiver.refs("pager")) == 1
    assert len(receiver.refs("api-team")) == 1
    assert len(receiver.refs("tier1")) == 1
    assert {critical_only.pk, api_only.pk, tier1.pk}


@pytest.mark.django_db
def test_email_channel_sends_through_django_mail() -> None:
    NotificationChannel.objects.create(name="mail", kind="email", emails="ops@example.com, lead@example.com")
    raise_alert("service:api:down", summary="API is down", source="monitoring", runbook="Service Is Down")
    notify.run_once()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[FIRING] API is down" and message.to == ["ops@example.com", "lead@example.com"]
    assert "Runbook: Service Is Down" in message.body


@pytest.mark.django_db
def test_masked_url_hides_tokens_and_paths() -> None:
    assert apprise_io.mask_url("json://127.0.0.1:8080/secret-hook-path?x=1") == "json://127.0.0.1:8080/…"
    masked = apprise_io.mask_url("ntfys://user:hunter2@ntfy.sh/private-topic")
    assert "hunter2" not in masked and "private-topic" not in masked
    slack = apprise_io.mask_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in slack and "A1BRTD4JD" not in slack


@pytest.mark.django_db
def test_send_test_records_the_outcome(receiver: Receiver) -> None:
    good = NotificationChannelFactory(name="good", url=receiver.url())
    assert notify.send_test(good).ok
    bad = NotificationChannelFactory(name="bad", url=f"json://127.0.0.1:{free_port()}/x")
    result = notify.send_test(bad)
    assert not result.ok and "could not connect" in result.error
    bad.refresh_from_db()
    assert bad.last_test_ok is False and bad.last_test_at is not None
    assert "[TEST]" in receiver.received[0]["title"]
    assert timezone.now() - good.created_at < dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_channel_urls_never_reach_a_log_line_or_attempt_row(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Apprise logs the URLs it handles (even at error level); no piece of a channel's secret may come out."""
    caplog.set_level(1)
    logging.getLogger("apprise").setLevel(1)
    try:
        for typo in ("bogus://hunter2-typo-token", "slack://BadSlackToken99", "jsons://user:pw-9876@"):
            with pytest.raises(ValidationError):
                apprise_io.validate_apprise_url(typo)
        secret_path = "ops:pw-5432@127.0.0.1:{port}/hook/path-secret-77?token=q-secret-88"
        down = NotificationChannelFactory(name="down", url="json://" + secret_path.format(port=free_port()))
        refused = NotificationChannelFactory(name="refused", url=receiver.url("answer-secret-66"))
        receiver.responses = [(500, {})] * 4
        for channel in (down, refused):
            assert not notify.send_test(channel).ok
        raise_alert("service:api:down", summary="API is down", source="monitoring")
        notify.run_once()
    finally:
        logging.getLogger("apprise").setLevel(logging.NOTSET)
    assert any(r.name == "apprise" and r.levelno >= logging.WARNING for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    stored = " ".join(
        [
            *NotificationAttempt.objects.values_list("error", flat=True),
            *NotificationChannel.objects.values_list("last_test_error", flat=True),
            *NotificationChannel.objects.values_list("url_masked", flat=True),
        ]
    )
    assert NotificationAttempt.objects.filter(ok=False).count() == 2
    for secret in ("hunter2-typo-token", "BadSlackToken99", "pw-9876", "pw-5432", "path-secret-77", "q-secret-88"):
        assert secret not in logged and secret not in stored, secret
    assert "answer-secret-66" not in logged and "answer-secret-66" not in stored
