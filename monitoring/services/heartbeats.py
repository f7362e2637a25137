"""Heartbeat (push) checks: a job pings the portal, and a ping that does not come is the alarm.

A ping records a HeartbeatPing; success and failure pings also record a CheckResult (its latency
the run's duration when a start ping came first) and apply it to the service's state with the
same compare-and-set as probe results, one result deciding (a failed run is down at once). The
service's ``next_due_at`` is its deadline: the next expected ping plus the grace. When the
dispatcher claims a heartbeat service that is past its deadline, ``overdue_outcome`` is its
result: down, "no ping since ...".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from monitoring.services.choices import PingKind
from monitoring.services.heartbeat_schedule import deadline_after
from monitoring.services.models import CheckResult, HeartbeatPing, Service, ServiceFlip
from monitoring.services.probes import ProbeOutcome
from monitoring.services.state import record_outcome

BODY_LIMIT = 10 * 1024
# A start ping older than this is not paired with the result that follows (a run that never
# reported); the result then has no duration.
RUN_PAIRING_LIMIT = dt.timedelta(days=1)
ONE_RESULT_DECIDES = (1, 1)


@dataclass(frozen=True)
class Ping:
    """What one request to /ping/<uuid>[/start|/fail|/<status>] said, before it is stored."""

    kind: str
    exit_status: int | None = None
    method: str = "GET"
    remote_addr: str = ""
    user_agent: str = ""
    body: str = ""


def clean_body(raw: bytes) -> str:
    """The first 10 KB of a body as text PostgreSQL can store (no NUL; bad UTF-8 replaced)."""
    return raw[:BODY_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _when(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z") if at else ""


def run_duration_ms(ping: Ping, started: dt.datetime | None, now: dt.datetime) -> float | None:
    """The run's duration, when a result follows a start ping of the same run."""
    if ping.kind != PingKind.START and started is not None and dt.timedelta(0) <= now - started <= RUN_PAIRING_LIMIT:
        return (now - started).total_seconds() * 1000.0
    return None


def failure_error(ping: Ping) -> str:
    """What a result says of a ping: nothing for a success, the job's report for a failure."""
    if ping.kind == PingKind.SUCCESS:
        return ""
    return f"the job reported exit status {ping.exit_status}" if ping.exit_status else "the job reported a failure"


def record_ping(service: Service, ping: Ping, *, now: dt.datetime | None = None) -> HeartbeatPing:
    """Store one ping and apply it: a start marks the run, a success or failure is a result."""
    now = now or timezone.now()
    duration_ms = run_duration_ms(ping, service.last_start_at, now)
    with transaction.atomic():
        row = HeartbeatPing.objects.create(
            service=service,
            at=now,
            kind=ping.kind,
            exit_status=ping.exit_status,
            duration_ms=duration_ms,
            method=ping.method[:8],
            remote_addr=ping.remote_addr[:45],
            user_agent=ping.user_agent[:200],
            body=ping.body,
        )
        if ping.kind == PingKind.START:
            Service.objects.filter(pk=service.pk).update(last_start_at=now)
            return row
        ok = ping.kind == PingKind.SUCCESS
        error = failure_error(ping)
        CheckResult.objects.create(service=service, at=now, ok=ok, latency_ms=duration_ms, error=error)
        outcome = ProbeOutcome(service.pk, now, ok=ok, latency_ms=duration_ms, error=error)
        pinged = {"last_ping_at": now, "last_start_at": None}
        if (
            not record_outcome(
                service,
                outcome,
                next_due_at=deadline_after(service, now),
                thresholds=ONE_RESULT_DECIDES,
                extra=pinged,
            )
            and service.last_ping_at != now
        ):
            # Paused (or the row vanished): the state is not touched, but the ping time is.
            Service.objects.filter(pk=service.pk).update(**pinged)
    return row


def overdue_outcome(service: Service, now: dt.datetime) -> ProbeOutcome:
    """The result of a heartbeat check whose deadline passed without a ping: down."""
    if service.last_ping_at:
        error = f"no ping since {_when(service.last_ping_at)}"
    else:
        error = f"no ping yet (watched since {_when(service.created_at)})"
    return ProbeOutcome(service.pk, now, ok=False, error=error)


def record_overdue(service: Service, token: str, now: dt.datetime) -> ServiceFlip | None:
    """Record the missed deadline of a claimed heartbeat service, unless a ping came meanwhile.

    The row is locked and re-read: a ping that landed between the claim and now has moved the
    deadline (or changed ``last_ping_at``), and then nothing is recorded.
    """
    guard = Q(last_ping_at=service.last_ping_at) if service.last_ping_at else Q(last_ping_at__isnull=True)
    with transaction.atomic():
        fresh = Service.objects.select_for_update().filter(guard, pk=service.pk, next_due_at__lte=now).first()
        if fresh is None:
            return None
        outcome = overdue_outcome(fresh, now)
        CheckResult.objects.create(service=fresh, at=now, ok=False, error=outcome.error[:300])
        return record_outcome(
            fresh, outcome, claim_token=token, next_due_at=deadline_after(fresh, now), thresholds=ONE_RESULT_DECIDES
        )
