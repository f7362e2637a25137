"""Notifications: fan alert events out to channels and send them, at most once per (event, channel).

A notifier pass (``run_once``) does four things, each safe with several workers at once:

1. ``schedule_reminders`` writes repeat/escalation events (unique per alert, channel, sequence);
2. ``dispatch_events`` locks undispatched events (``SKIP LOCKED``), creates one Notification per
   (event, channel) under a unique constraint and marks the event dispatched, in one transaction;
   events of held alerts (silence, maintenance, parent down) are marked held instead;
3. ``release_held`` sends the held "fired" event of alerts that nothing holds any more;
4. ``send_due`` claims due notifications with a conditional update (claim token + lease), sends
   them grouped per channel through Apprise or Django email, and records every try as a
   NotificationAttempt. Failures retry with exponential backoff, or after the receiver's
   ``Retry-After``; after NOTIFY_MAX_ATTEMPTS the notification is given up.

A worker that dies between sending and recording leaves its claim to expire, after which the
notification is sent again: the guarantee is at most once among live workers, never lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import apprise
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from monitoring.alerts import conf
from monitoring.alerts.alerting import Holds, schedule_reminders
from monitoring.alerts.apprise_io import parse_retry_after, record_responses, using_url
from monitoring.alerts.choices import AlertEventKind, AlertState, ChannelKind, NotificationState, Severity
from monitoring.alerts.models import Alert, AlertEvent, Notification, NotificationAttempt, NotificationChannel
from opsportal import netguard

log = logging.getLogger(__name__)

OPENING = {AlertEventKind.FIRED, AlertEventKind.UPDATED, AlertEventKind.REPEATED, AlertEventKind.ESCALATED}
CLOSING = {AlertEventKind.ACKNOWLEDGED, AlertEventKind.RESOLVED}
LABELS = {
    AlertEventKind.FIRED: "FIRING",
    AlertEventKind.UPDATED: "UPDATED",
    AlertEventKind.REPEATED: "REMINDER",
    AlertEventKind.ESCALATED: "ESCALATED",
    AlertEventKind.ACKNOWLEDGED: "ACKNOWLEDGED",
    AlertEventKind.RESOLVED: "RESOLVED",
}


# Channel URLs --------------------------------------------------------------------------------


@dataclass
class SendResult:
    ok: bool
    status_code: int | None = None
    retry_after: float | None = None
    error: str = ""
    started_at: dt.datetime = field(default_factory=timezone.now)
    finished_at: dt.datetime | None = None


def deliver(channel: NotificationChannel, title: str, body: str, notify_type: str = "info") -> SendResult:
    """Send one message to one channel; never raises, never puts the channel URL in an error."""
    result = SendResult(ok=False)
    timeout = conf.NOTIFY_TIMEOUT_SECONDS.get()
    try:
        if channel.kind == ChannelKind.EMAIL:
            message = EmailMessage(subject=title[:200], body=body, to=channel.email_list)
            result.ok = message.send() > 0
            if not result.ok:
                result.error = "the mail backend sent nothing"
        else:
            with using_url(channel.url):
                plugin = apprise.Apprise.instantiate(channel.url)
                if plugin is not None:
                    plugin.socket_connect_timeout = timeout
                    plugin.socket_read_timeout = timeout
                    # Every connection Apprise opens (redirects too) is checked against the deny list.
                    with record_responses() as records, netguard.guarded_requests() as denied:
                        result.ok = bool(plugin.notify(body=body, title=title, notify_type=notify_type))
            if plugin is None:
                result.error = "Apprise does not recognise the channel URL"
            elif denied and not result.ok:
                result.error = denied[-1]
            elif records:
                status, retry_after, exc_name = records[-1]
                result.status_code = status
                result.retry_after = parse_retry_after(retry_after)
                if not result.ok:
                    result.error = f"HTTP {status}" if status else f"could not connect ({exc_name})"
            elif not result.ok:
                result.error = "the service refused the notification"
    except Exception as exc:  # noqa: BLE001 - a transport failure is recorded, not raised
        log.warning("notification to channel %s failed: %s", channel.pk, type(exc).__name__)
        result.ok = False
        result.error = (
            f"{type(exc).__name__}: {str(exc)[:200]}" if channel.kind == ChannelKind.EMAIL else type(exc).__name__
        )
    result.finished_at = timezone.now()
    return result


# Messages ----------------------------------------------------------------------------------


def alert_url(alert: Alert) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("monitoring:alert", kwargs={"pk": alert.pk})


def _event_line(event: AlertEvent) -> str:
    who = f" by {event.actor.get_username()}" if event.actor_id and event.actor else ""
    if event.kind == AlertEventKind.ACKNOWLEDGED:
        return f"Acknowledged{who}" + (f": {event.note}" if event.note else "")
    if event.kind == AlertEventKind.RESOLVED:
        return f"Resolved{who}" + (f": {event.note}" if event.note else "")
    return event.note


def render_item(notification: Notification) -> str:
    event, alert = notification.event, notification.alert
    lines = [f"[{LABELS.get(event.kind, event.kind.upper())}] {alert.summary}"]
    facts = [f"severity {alert.severity}", f"started {timezone.localtime(alert.started_at):%Y-%m-%d %H:%M %Z}"]
    if alert.service is not None:
        facts.insert(1, f"service {alert.service.name}")
    lines.append(" · ".join(facts))
    detail = _event_line(event)
    if detail and detail != alert.summary:
        lines.append(detail[:500])
    if alert.runbook:
        lines.append(f"Runbook: {alert.runbook}")
    lines.append(alert_url(alert))
    lines.append(f"ref: alert={alert.pk} event={event.pk} key={alert.dedup_key}")
    return "\n".join(lines)


def render_message(items: list[Notification]) -> tuple[str, str, str]:
    """Title, body and Apprise notify type for one or several notifications to one channel."""
    items = sorted(items, key=lambda n: (n.event.at, n.event_id))
    first = items[0]
    if len(items) == 1:
        title = f"[{LABELS.get(first.event.kind, first.event.kind.upper())}] {first.alert.summary}"
    else:
        kinds: dict[str, int] = defaultdict(int)
        for n in items:
            kinds[LABELS.get(n.event.kind, n.event.kind).lower()] += 1
        title = f"{len(items)} alert updates: " + ", ".join(f"{c} {k}" for k, c in sorted(kinds.items()))
    body = "\n\n".join(render_item(n) for n in items)
    if all(n.event.kind == AlertEventKind.RESOLVED for n in items):
        notify_type = "success"
    elif any(n.event.kind in OPENING and n.alert.severity == Severity.CRITICAL for n in items):
        notify_type = "failure"
    elif any(n.event.kind in OPENING for n in items):
        notify_type = "warning"
    else:
        notify_type = "info"
    return title[:250], body, notify_type


# 1-3. Fan-out ------------------------------------------------------------------------------


def _channel_filters(channels: list[NotificationChannel]) -> dict[int, tuple[set[int], set[int]]]:
    return {c.pk: ({s.pk for s in c.services.all()}, {t.pk for t in c.tags.all()}) for c in channels}


def dispatch_events(now: dt.datetime | None = None, limit: int = 500, holds: Holds | None = None) -> int:
    """Turn undispatched alert events into Notification rows; returns how many events were handled."""
    now = now or timezone.now()
    holds = holds or Holds.load(now)
    channels = list(NotificationChannel.objects.filter(enabled=True).prefetch_related("services", "tags"))
    by_id = {c.pk: c for c in channels}
    filters = _channel_filters(channels)
    with transaction.atomic():
        events = list(
            AlertEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(dispatched_at__isnull=True)
            .select_related("alert__service")
            .order_by("at", "id")[:limit]
        )
        if not events:
            return 0
        prefetch_related_objects([e.alert for e in events if e.alert.service_id], "service__tags")
        told = set(
            Notification.objects.filter(alert_id__in={e.alert_id for e in events}).values_list("alert_id", "channel_id")
        )
        new: list[Notification] = []
        held: dict[int, str] = {}
        for event in events:
            alert = event.alert
            targets, note, hold = _targets(event, alert, channels, by_id, filters, holds, told)
            if hold:
                held[alert.pk] = hold
                event.held = True
            elif event.kind in OPENING and alert.held_reason:
                held[alert.pk] = ""  # held when raised, free by the time it went out
            for channel in targets:
                new.append(Notification(event=event, channel=channel, alert=alert, next_attempt_at=now, created_at=now))
                if event.kind in OPENING:
                    told.add((alert.pk, channel.pk))
            event.dispatched_at, event.dispatch_note = now, note[:200]
        Notification.objects.bulk_create(new, ignore_conflicts=True)
        AlertEvent.objects.bulk_update(events, ["dispatched_at", "dispatch_note", "held"])
        for alert_id, reason in held.items():
            Alert.objects.filter(pk=alert_id).exclude(state=AlertState.RESOLVED).update(held_reason=reason[:200])
    return len(events)


def _targets(
    event: AlertEvent,
    alert: Alert,
    channels: list[NotificationChannel],
    by_id: dict[int, NotificationChannel],
    filters: dict[int, tuple[set[int], set[int]]],
    holds: Holds,
    told: set[tuple[int, int]],
) -> tuple[list[NotificationChannel], str, str]:
    """The channels to notify of ``event``, a note for the timeline, and the hold reason ("" if none)."""
    if event.kind in CLOSING:
        flag = "notify_acknowledged" if event.kind == AlertEventKind.ACKNOWLEDGED else "notify_resolved"
        targets = [c for c in channels if (alert.pk, c.pk) in told and getattr(c, flag)]
        note = f"sent to {len(targets)} channel(s)" if targets else "no channel had been told of this alert"
        return targets, note, ""
    if event.kind not in OPENING:
        return [], "", ""
    if alert.state == AlertState.RESOLVED:
        return [], "not sent: resolved before it could be sent", ""
    if event.kind in (AlertEventKind.REPEATED, AlertEventKind.ESCALATED) and alert.state != AlertState.FIRING:
        return [], "not sent: acknowledged meanwhile", ""
    reason = holds.reason(alert)
    if reason:
        return [], f"held: {reason}", reason
    if event.kind in (AlertEventKind.REPEATED, AlertEventKind.ESCALATED):
        channel = by_id.get(event.channel_id or 0)
        return ([channel], f"sent to {channel.name}", "") if channel else ([], "channel disabled or removed", "")
    targets = [c for c in channels if not c.is_escalation and c.accepts(alert, *filters[c.pk])]
    return targets, f"sent to {len(targets)} channel(s)" if targets else "no channel matches this alert", ""


def release_held(now: dt.datetime | None = None, holds: Holds | None = None) -> int:
    """Send the held alerts that nothing holds any more; returns how many were released."""
    now = now or timezone.now()
    holds = holds or Holds.load(now)
    released = 0
    candidates = list(
        Alert.objects.exclude(state=AlertState.RESOLVED)
        .exclude(held_reason="")
        .select_related("service")
        .prefetch_related("service__tags")
    )
    if not candidates:
        return 0
    channels = list(
        NotificationChannel.objects.filter(enabled=True, escalate_after_minutes__isnull=True).prefetch_related(
            "services", "tags"
        )
    )
    filters = _channel_filters(channels)
    for alert in candidates:
        reason = holds.reason(alert)
        if reason:
            if reason != alert.held_reason:
                Alert.objects.filter(pk=alert.pk).update(held_reason=reason[:200])
            continue
        with transaction.atomic():
            if Alert.objects.filter(pk=alert.pk, held_reason=alert.held_reason).update(held_reason="") != 1:
                continue  # another worker released it
            AlertEvent.objects.create(
                alert=alert,
                kind=AlertEventKind.UPDATED,
                at=now,
                note=f"notifications released; it was held: {alert.held_reason}"[:2000],
                dispatched_at=now,
                dispatch_note="timeline only",
            )
            event = (
                alert.events.filter(kind__in=[AlertEventKind.FIRED, AlertEventKind.UPDATED], held=True)
                .order_by("-at", "-id")
                .first()
            )
            alert.events.filter(held=True).update(held=False)  # the hold is over for all of them
            if alert.state != AlertState.FIRING:
                continue  # someone acknowledged it meanwhile: no need to page anyone
            if event is None:
                continue
            targets = [c for c in channels if c.accepts(alert, *filters[c.pk])]
            Notification.objects.bulk_create(
                [
                    Notification(event=event, channel=c, alert=alert, next_attempt_at=now, created_at=now)
                    for c in targets
                ],
                ignore_conflicts=True,
            )
            AlertEvent.objects.filter(pk=event.pk).update(
                dispatch_note=f"held, released {timezone.localtime(now):%H:%M}: sent to {len(targets)} channel(s)"[:200]
            )
            released += 1
    return released


# 4. Sending ---------------------------------------------------------------------------------


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: the receiver's Retry-After when given, else exponential backoff."""
    if retry_after is not None:
        return min(retry_after, conf.NOTIFY_RETRY_AFTER_MAX_SECONDS.get())
    base = conf.NOTIFY_BACKOFF_SECONDS.get()
    cap = conf.NOTIFY_BACKOFF_MAX_SECONDS.get()
    return min(cap, base * 2 ** max(0, attempts - 1))


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def _claim(now: dt.datetime, token: str) -> list[Notification]:
    lease = dt.timedelta(seconds=conf.NOTIFY_LEASE_SECONDS.get())
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(free, state=NotificationState.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[: conf.NOTIFY_BATCH.get()]
        )
        if not ids:
            return []
        Notification.objects.filter(free, id__in=ids, state=NotificationState.PENDING).update(
            claimed_until=now + lease, claim_token=token
        )
    return list(
        Notification.objects.filter(claim_token=token, state=NotificationState.PENDING).select_related(
            "event__actor", "alert__service", "channel"
        )
    )


def send_due(now: dt.datetime | None = None) -> int:
    """Claim due notifications, send them grouped per channel, record each try; returns how many were tried."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    claimed = _claim(now, token)
    if not claimed:
        return 0
    group_max = conf.NOTIFY_GROUP_MAX.get()
    per_channel: dict[int, list[Notification]] = defaultdict(list)
    for n in claimed:
        per_channel[n.channel_id].append(n)
    jobs: list[tuple[NotificationChannel, list[Notification], tuple[str, str, str]]] = []
    for items in per_channel.values():
        for i in range(0, len(items), group_max):
            chunk = items[i : i + group_max]
            jobs.append((chunk[0].channel, chunk, render_message(chunk)))
    workers = max(1, min(conf.NOTIFY_CONCURRENCY.get(), len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify") as pool:
        results = list(pool.map(lambda job: deliver(job[0], *job[2]), jobs))
    _record(jobs, results, token)
    return len(claimed)


def _record(
    jobs: list[tuple[NotificationChannel, list[Notification], tuple[str, str, str]]],
    results: list[SendResult],
    token: str,
) -> None:
    """Write one attempt row per notification and move each on, only where our claim still holds."""
    max_attempts = conf.NOTIFY_MAX_ATTEMPTS.get()
    worker = worker_label()[:100]
    attempts: list[NotificationAttempt] = []
    delivered_per_alert: dict[int, int] = defaultdict(int)
    lost = 0
    for (_channel, items, _msg), result in zip(jobs, results, strict=True):
        done = result.finished_at or timezone.now()
        for n in items:
            attempts.append(
                NotificationAttempt(
                    notification=n,
                    number=n.attempts + 1,
                    started_at=result.started_at,
                    finished_at=done,
                    ok=result.ok,
                    status_code=result.status_code,
                    retry_after_seconds=result.retry_after,
                    error=result.error[:300],
                    worker=worker,
                )
            )
        if result.ok:
            moved = Notification.objects.filter(pk__in=[n.pk for n in items], claim_token=token).update(
                state=NotificationState.DELIVERED,
                attempts=F("attempts") + 1,
                delivered_at=done,
                claimed_until=None,
                last_error="",
            )
            lost += len(items) - moved
            for n in items:
                delivered_per_alert[n.alert_id] += 1
            continue
        for n in items:
            number = n.attempts + 1
            mine = Notification.objects.filter(pk=n.pk, claim_token=token)
            if number >= max_attempts:
                moved = mine.update(
                    state=NotificationState.FAILED, attempts=number, claimed_until=None, last_error=result.error[:300]
                )
            else:
                delay = dt.timedelta(seconds=retry_delay(number, result.retry_after))
                moved = mine.update(
                    attempts=number, next_attempt_at=done + delay, claimed_until=None, last_error=result.error[:300]
                )
            lost += 1 - moved
    NotificationAttempt.objects.bulk_create(attempts)
    for alert_id, count in delivered_per_alert.items():
        Alert.objects.filter(pk=alert_id).update(notification_count=F("notification_count") + count)
    if lost:
        log.warning("%s notification(s): claim lost while sending (is NOTIFY_LEASE_SECONDS too short?)", lost)


def run_once(now: dt.datetime | None = None) -> dict[str, int]:
    """One notifier pass: reminders, fan-out, releases, sending."""
    now = now or timezone.now()
    holds = Holds.load(now)
    report = {
        "reminders": schedule_reminders(now, holds),
        "dispatched": dispatch_events(now, holds=holds),
        "released": release_held(now, holds),
    }
    report["sent"] = send_due(now)
    return report


def drain(timeout: float = 30.0) -> dict[str, int]:
    """Run passes until nothing is due (for commands, tests and benchmarks); returns the totals."""
    totals: dict[str, int] = defaultdict(int)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = run_once()
        for key, value in report.items():
            totals[key] += value
        if not any(report.values()):
            break
    return dict(totals)


def send_test(channel: NotificationChannel) -> SendResult:
    """Send a test message to ``channel`` now and remember the outcome on the channel."""
    title = "[TEST] Ops Portal test notification"
    body = (
        f"This is a test notification from Ops Portal to the channel '{channel.name}'.\n"
        f"If you can read it, alerts will reach you here.\n{settings.SITE_URL}"
    )
    result = deliver(channel, title, body, "info")
    NotificationChannel.objects.filter(pk=channel.pk).update(
        last_test_at=result.finished_at or timezone.now(), last_test_ok=result.ok, last_test_error=result.error[:300]
    )
    return result
