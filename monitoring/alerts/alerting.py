"""Alert lifecycle helpers: service flips and certificates into alerts, flapping, holds, reminders, MTTA/MTTR.

- ``process_flips()`` claims unprocessed ServiceFlip rows and raises or resolves ``service:<slug>:down``;
  a service flipping more than N times in M minutes gets one "flapping" alert instead.
- ``check_certificates()`` raises ``service:<slug>:cert`` at cert_warn_days (warning) and
  cert_alert_days (critical).
- ``reopen_conditions()`` opens a new "down" alert, linked to the one resolved by hand, for a
  service that is still down (resolution follows the condition).
- ``schedule_reminders()`` writes repeat and escalation events for unacknowledged alerts.
- ``alert_stats()`` computes MTTA / MTTR over a period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from monitoring.alerts import conf
from monitoring.alerts.choices import AlertEventKind, AlertState, Severity
from monitoring.alerts.holds import Holds
from monitoring.alerts.models import Alert, AlertEvent, Notification, NotificationChannel
from monitoring.alerts.public import last_resolved_by_hand, raise_alert, resolve_alert
from monitoring.services.choices import ServiceStatus
from monitoring.services.models import Service, ServiceFlip
from opsportal import audit
from opsportal.models import AuditRecord

log = logging.getLogger(__name__)

SERVICE_DOWN_RUNBOOK = "Service Is Down"
CERT_RUNBOOK = "SSL/HTTPS"
DEPLOY_RUNBOOK = "Emergency Rollback"


def runbook_url(title: str, alert_id: int | None = None) -> str | None:
    """The runbook with this title (opened for ``alert_id`` when given), once the runbooks pages exist."""
    if not title:
        return None
    try:
        base = reverse("maintenance:runbook_open")
    except NoReverseMatch:
        return None
    query = {"title": title, **({"alert": alert_id} if alert_id is not None else {})}
    return f"{base}?{urlencode(query)}"


def _serialized(name: str) -> bool:
    """Inside a transaction: take a PostgreSQL advisory lock for ``name``; False when someone holds it.

    On SQLite, IMMEDIATE transactions already serialise writers.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [name])
        return bool(cursor.fetchone()[0])


# Acting on an alert --------------------------------------------------------------------------


def acknowledge(alert: Alert, actor: Any, note: str = "") -> bool:
    """Acknowledge (compare-and-set) and audit; False when the alert was no longer firing."""
    if not alert.acknowledge(actor, note):
        return False
    audit.record(AuditRecord.Action.ACTION, alert, summary=f"acknowledged{': ' + note if note else ''}", actor=actor)
    return True


def still_holds(alert: Alert) -> str:
    """What of the alert's condition still holds now, as far as the portal knows ("" when nothing)."""
    if alert.dedup_key.endswith(":down") and alert.service is not None:
        if alert.service.enabled and alert.service.status == ServiceStatus.DOWN:
            return f"{alert.service.name} is still down"
    if (alert.details or {}).get("breaching"):
        return f"at the last evaluation: {alert.summary}"
    return ""


def resolve(alert: Alert, actor: Any, note: str = "") -> bool:
    """Resolve by hand (compare-and-set) and audit; False when it was already resolved.

    Resolution follows the condition: when it still holds, the resolve is recorded as such and
    the next evaluation opens a new alert linked to this one (and notifies again).
    """
    holding = still_holds(alert)
    text = note or "resolved by hand"
    if holding:
        text += f" while the condition still held ({holding}); a new alert opens at the next evaluation"
    if not alert.resolve(actor=actor, note=text):
        return False
    audit.record(AuditRecord.Action.ACTION, alert, summary=f"resolved{': ' + note if note else ''}", actor=actor)
    return True


# Service flips ----------------------------------------------------------------------------


def down_key(service: Service) -> str:
    return f"service:{service.slug}:down"


def flapping_key(service: Service) -> str:
    return f"service:{service.slug}:flapping"


def cert_key(service: Service) -> str:
    return f"service:{service.slug}:cert"


def process_flips(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Turn unprocessed flips into alerts, oldest first; returns how many were handled.

    Each flip is claimed with a conditional update on ``processed_at``; the whole pass runs
    under an advisory lock so flips of one service are handled in order even with two workers.
    """
    now = now or timezone.now()
    handled = 0
    with transaction.atomic():
        if not _serialized("monitoring.process_flips"):
            return 0
        flips = list(
            ServiceFlip.objects.filter(processed_at__isnull=True).select_related("service").order_by("at", "id")[:limit]
        )
        quiet = _quiet(flips)
        if quiet:  # nothing to raise or resolve: claimed in one statement, not flip by flip
            handled += ServiceFlip.objects.filter(pk__in=quiet, processed_at__isnull=True).update(processed_at=now)
            flips = [f for f in flips if f.pk not in quiet]
        for flip in flips:
            if ServiceFlip.objects.filter(pk=flip.pk, processed_at__isnull=True).update(processed_at=now) != 1:
                continue
            try:
                with transaction.atomic():
                    _handle_flip(flip)
            except Exception:
                log.exception("could not turn flip %s into an alert; it will be retried", flip.pk)
                ServiceFlip.objects.filter(pk=flip.pk).update(processed_at=None)
                continue
            handled += 1
    return handled


def _quiet(flips: list[ServiceFlip]) -> set[int]:
    """The flips ``_handle_flip`` would do nothing for (a first check passing, say): not to DOWN,
    the only one of its service in this batch, no open down or flapping alert of the service, and
    not past the flapping limit. Four queries for the lot, however many."""
    per_service = Counter(f.service_id for f in flips)
    candidates = [f for f in flips if f.new_status != ServiceStatus.DOWN and per_service[f.service_id] == 1]
    if not candidates:
        return set()
    keys = {key for f in candidates for key in (down_key(f.service), flapping_key(f.service))}
    open_keys = set(
        Alert.objects.filter(dedup_key__in=keys).exclude(state=AlertState.RESOLVED).values_list("dedup_key", flat=True)
    )
    window = dt.timedelta(minutes=conf.ALERT_FLAP_MINUTES.get())
    recent: dict[int, list[dt.datetime]] = defaultdict(list)
    for sid, at in ServiceFlip.objects.filter(
        service_id__in={f.service_id for f in candidates},
        at__gt=min(f.at for f in candidates) - window,
        at__lte=max(f.at for f in candidates),
    ).values_list("service_id", "at"):
        recent[sid].append(at)
    limit = conf.ALERT_FLAP_FLIPS.get()
    return {
        f.pk
        for f in candidates
        if not {down_key(f.service), flapping_key(f.service)} & open_keys
        and sum(1 for at in recent[f.service_id] if f.at - window < at <= f.at) <= limit
    }


def _flip_count(service: Service, until: dt.datetime) -> int:
    window = dt.timedelta(minutes=conf.ALERT_FLAP_MINUTES.get())
    return ServiceFlip.objects.filter(service=service, at__gt=until - window, at__lte=until).count()


def _handle_flip(flip: ServiceFlip) -> None:
    service = flip.service
    limit, minutes = conf.ALERT_FLAP_FLIPS.get(), conf.ALERT_FLAP_MINUTES.get()
    flapping_open = Alert.objects.filter(dedup_key=flapping_key(service)).exclude(state=AlertState.RESOLVED).exists()
    count = _flip_count(service, flip.at)
    if flapping_open or count > limit:
        raise_alert(
            flapping_key(service),
            summary=f"{service.name} is flapping: {count} status changes in {minutes} minutes",
            source="monitoring",
            severity=Severity.WARNING,
            service=service,
            runbook=SERVICE_DOWN_RUNBOOK,
            details={"flips": count, "minutes": minutes, "last_status": flip.new_status, "reason": flip.reason},
        )
        resolve_alert(down_key(service), note="superseded by the flapping alert")
        return
    if flip.new_status == ServiceStatus.DOWN:
        raise_alert(
            down_key(service),
            summary=f"{service.name} is down" + (f": {flip.reason}" if flip.reason else ""),
            source="monitoring",
            severity=Severity.CRITICAL,
            service=service,
            runbook=SERVICE_DOWN_RUNBOOK,
            details={"from": flip.old_status, "reason": flip.reason, "flip_id": flip.pk},
        )
    elif flip.new_status in (ServiceStatus.UP, ServiceStatus.DEGRADED, ServiceStatus.PAUSED):
        note = "service paused" if flip.new_status == ServiceStatus.PAUSED else f"service is {flip.new_status} again"
        resolve_alert(down_key(service), note=note)


def reopen_conditions() -> int:
    """A service still down with no open down or flapping alert gets one again; returns how many.

    This is what makes a manual resolve follow the condition: the new alert links to the one
    resolved by hand and notifies again. Runs with the flips, every alerts tick.
    """
    opened = 0
    open_keys = set(
        Alert.objects.filter(dedup_key__startswith="service:")
        .exclude(state=AlertState.RESOLVED)
        .values_list("dedup_key", flat=True)
    )
    pending = set(ServiceFlip.objects.filter(processed_at__isnull=True).values_list("service_id", flat=True))
    for service in Service.objects.filter(enabled=True, status=ServiceStatus.DOWN):
        if service.pk in pending or {down_key(service), flapping_key(service)} & open_keys:
            continue
        previous = last_resolved_by_hand(down_key(service))
        raise_alert(
            down_key(service),
            summary=f"{service.name} is down" + (f": {service.status_reason}" if service.status_reason else ""),
            source="monitoring",
            severity=Severity.CRITICAL,
            service=service,
            runbook=SERVICE_DOWN_RUNBOOK,
            details={"reason": service.status_reason, "still_down_since": service.status_since.isoformat()},
            reopens=previous,
        )
        opened += 1
    return opened


def end_flapping(now: dt.datetime | None = None) -> int:
    """Resolve flapping alerts of services quiet for M minutes; a service still down gets its down alert."""
    now = now or timezone.now()
    ended = 0
    window = dt.timedelta(minutes=conf.ALERT_FLAP_MINUTES.get())
    for alert in (
        Alert.objects.filter(dedup_key__endswith=":flapping", source="monitoring")
        .exclude(state=AlertState.RESOLVED)
        .select_related("service")
    ):
        service = alert.service
        if service is not None and ServiceFlip.objects.filter(service=service, at__gt=now - window).exists():
            continue
        if not resolve_alert(alert.dedup_key, note=f"no status change for {window.seconds // 60} minutes"):
            continue
        ended += 1
        if service is not None and service.enabled and service.status == ServiceStatus.DOWN:
            raise_alert(
                down_key(service),
                summary=f"{service.name} is down" + (f": {service.status_reason}" if service.status_reason else ""),
                source="monitoring",
                severity=Severity.CRITICAL,
                service=service,
                runbook=SERVICE_DOWN_RUNBOOK,
                details={"after_flapping": True},
            )
    return ended


# Certificates -----------------------------------------------------------------------------


def check_certificates(now: dt.datetime | None = None) -> int:
    """Raise, escalate or resolve certificate-expiry alerts; returns how many services are alerting."""
    now = now or timezone.now()
    alerting, watched = 0, set()
    for service in Service.objects.filter(enabled=True, cert_expires_at__isnull=False):
        watched.add(service.pk)
        days_left = (service.cert_expires_at - now).total_seconds() / 86400
        if days_left > service.cert_warn_days:
            resolve_alert(cert_key(service), note="certificate renewed")
            continue
        severity = Severity.CRITICAL if days_left <= service.cert_alert_days else Severity.WARNING
        when = f"{timezone.localtime(service.cert_expires_at):%Y-%m-%d}"
        summary = (
            f"TLS certificate of {service.name} expired on {when}"
            if days_left <= 0
            else f"TLS certificate of {service.name} expires in {int(days_left)} days ({when})"
        )
        raise_alert(
            cert_key(service),
            summary=summary,
            source="monitoring",
            severity=severity,
            service=service,
            runbook=CERT_RUNBOOK,
            details={"expires_at": service.cert_expires_at.isoformat(), "days_left": round(days_left, 1)},
        )
        alerting += 1
    for alert in Alert.objects.filter(dedup_key__endswith=":cert", source="monitoring").exclude(
        state=AlertState.RESOLVED
    ):
        if alert.service_id not in watched:
            resolve_alert(alert.dedup_key, note="no certificate to watch any more")
    return alerting


# Repeats and escalations -------------------------------------------------------------------


def schedule_reminders(now: dt.datetime | None = None, holds: Holds | None = None) -> int:
    """Write repeat and escalation events for firing (unacknowledged) alerts; returns how many.

    Each event is keyed (alert, channel, kind, sequence) under a unique constraint, so two
    workers doing this at once write it once.
    """
    now = now or timezone.now()
    channels = [
        c
        for c in NotificationChannel.objects.filter(enabled=True)
        .filter(Q(repeat_minutes__gt=0) | Q(escalate_after_minutes__isnull=False))
        .prefetch_related("services", "tags")
    ]
    if not channels:
        return 0
    alerts = list(
        Alert.objects.filter(state=AlertState.FIRING).select_related("service").prefetch_related("service__tags")
    )
    if not alerts:
        return 0
    holds = holds or Holds.load(now)
    told = set(
        Notification.objects.filter(alert__in=alerts, channel__in=channels).values_list("alert_id", "channel_id")
    )
    events = []
    for alert in alerts:
        if holds.reason(alert):
            continue
        age = now - alert.started_at
        for channel in channels:
            if not channel.accepts(alert):
                continue
            start = dt.timedelta(0)
            if channel.is_escalation:
                start = dt.timedelta(minutes=channel.escalate_after_minutes or 0)
                if age >= start:
                    events.append(
                        AlertEvent(
                            alert=alert,
                            kind=AlertEventKind.ESCALATED,
                            channel=channel,
                            sequence=0,
                            at=now,
                            note=f"unacknowledged for {int(age.total_seconds() // 60)} minutes: escalated to {channel.name}",
                        )
                    )
            if channel.repeat_minutes and (alert.pk, channel.pk) in told:
                sequence = int((age - start).total_seconds() // (channel.repeat_minutes * 60))
                if sequence >= 1:
                    events.append(
                        AlertEvent(
                            alert=alert,
                            kind=AlertEventKind.REPEATED,
                            channel=channel,
                            sequence=sequence,
                            at=now,
                            note=f"reminder {sequence} to {channel.name}: still unacknowledged",
                        )
                    )
    if not events:
        return 0
    mine = AlertEvent.objects.filter(alert__in=[e.alert for e in events], channel__isnull=False)
    before = mine.count()
    AlertEvent.objects.bulk_create(events, ignore_conflicts=True)
    return mine.count() - before


# MTTA / MTTR --------------------------------------------------------------------------------


@dataclass
class AlertStats:
    since: dt.datetime
    until: dt.datetime
    total: int
    acknowledged: int
    resolved: int
    open: int
    mtta: dt.timedelta | None
    mttr: dt.timedelta | None


def alert_stats(since: dt.datetime, until: dt.datetime, queryset: Any = None) -> AlertStats:
    """Mean time to acknowledge and to resolve, over alerts that started in [since, until)."""
    rows = (queryset if queryset is not None else Alert.objects.all()).filter(
        started_at__gte=since, started_at__lt=until
    )
    tta = ExpressionWrapper(F("acknowledged_at") - F("started_at"), output_field=DurationField())
    ttr = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())
    agg = rows.aggregate(
        total=Count("id"),
        acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
        resolved=Count("id", filter=Q(resolved_at__isnull=False)),
        open=Count("id", filter=~Q(state=AlertState.RESOLVED)),
        mtta=Avg(tta, filter=Q(acknowledged_at__isnull=False)),
        mttr=Avg(ttr, filter=Q(resolved_at__isnull=False)),
    )
    return AlertStats(since=since, until=until, **agg)


# /metrics ----------------------------------------------------------------------------------


class AlertsCollector:
    """Open alerts by severity and state, and the notification backlog, for the portal's /metrics."""

    def describe(self) -> list[object]:
        return []  # keeps registration from querying the database at import time

    def collect(self) -> Any:
        from django.db import DatabaseError
        from prometheus_client.core import GaugeMetricFamily

        from monitoring.alerts.choices import NotificationState

        alerts = GaugeMetricFamily("opsportal_alerts_open", "Open alerts", labels=["severity", "state"])
        backlog = GaugeMetricFamily("opsportal_notifications_pending", "Notifications waiting to be sent")
        failed = GaugeMetricFamily("opsportal_notifications_failed", "Notifications given up after every retry")
        try:
            rows = (
                Alert.objects.exclude(state=AlertState.RESOLVED)
                .values_list("severity", "state")
                .annotate(n=Count("id"))
                .order_by()
            )
            for severity, state, n in rows:
                alerts.add_metric([severity, state], n)
            backlog.add_metric([], Notification.objects.filter(state=NotificationState.PENDING).count())
            failed.add_metric([], Notification.objects.filter(state=NotificationState.FAILED).count())
        except DatabaseError:
            return
        yield alerts
        yield backlog
        yield failed
