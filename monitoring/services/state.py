"""Service status from probe results: thresholds, hysteresis and compare-and-set flips.

``next_status()`` is the pure rule: ``fail_threshold`` failures in a row make a service DOWN,
``recover_threshold`` passes in a row bring it back; UP <-> DEGRADED (slow answers) uses the
same two thresholds. ``record_outcome()`` writes the new state with a compare-and-set on
(status, last_checked_at): only the writer that saw the current row wins, and a status change
writes exactly one ServiceFlip in the same transaction. The alerting side turns unprocessed
flips (processed_at NULL) into alerts; nothing here raises alerts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from monitoring.services.choices import ServiceStatus
from monitoring.services.models import Service, ServiceFlip
from monitoring.services.probes import ProbeOutcome

FAIL, SLOW, FAST = "fail", "slow", "fast"


@dataclass(frozen=True)
class Counters:
    """Runs of consecutive results of each kind, as stored on the Service row."""

    failures: int = 0
    successes: int = 0
    slow: int = 0
    fast: int = 0

    @classmethod
    def of(cls, service: Service) -> Counters:
        return cls(
            service.consecutive_failures,
            service.consecutive_successes,
            service.consecutive_slow,
            service.consecutive_fast,
        )

    def after(self, kind: str) -> Counters:
        if kind == FAIL:
            return Counters(failures=self.failures + 1)
        if kind == SLOW:
            return Counters(successes=self.successes + 1, slow=self.slow + 1)
        return Counters(successes=self.successes + 1, fast=self.fast + 1)

    def as_fields(self) -> dict[str, int]:
        return {
            "consecutive_failures": self.failures,
            "consecutive_successes": self.successes,
            "consecutive_slow": self.slow,
            "consecutive_fast": self.fast,
        }


def classify(outcome: ProbeOutcome) -> str:
    if not outcome.ok:
        return FAIL
    return SLOW if outcome.degraded else FAST


def _latency(outcome: ProbeOutcome) -> str:
    return f"{outcome.latency_ms:.0f} ms" if outcome.latency_ms is not None else "no latency"


def next_status(
    status: str, counters: Counters, fail_threshold: int, recover_threshold: int, outcome: ProbeOutcome
) -> tuple[str, Counters, str]:
    """(new status, new counters, reason of the change) after one more result."""
    kind = classify(outcome)
    after = counters.after(kind)
    fail_threshold, recover_threshold = max(1, fail_threshold), max(1, recover_threshold)
    new = status
    reason = ""
    if kind == FAIL:
        if status != ServiceStatus.DOWN and after.failures >= fail_threshold:
            new = ServiceStatus.DOWN
            reason = f"{after.failures} failed check{'s' if after.failures != 1 else ''} in a row: {outcome.error}"
    elif status == ServiceStatus.DOWN:
        if after.successes >= recover_threshold:
            new = ServiceStatus.DEGRADED if kind == SLOW else ServiceStatus.UP
            reason = (
                f"recovered: {after.successes} passed check{'s' if after.successes != 1 else ''} ({_latency(outcome)})"
            )
    elif status in (ServiceStatus.UNKNOWN, ServiceStatus.PAUSED):
        new = ServiceStatus.DEGRADED if kind == SLOW else ServiceStatus.UP
        reason = f"first check {'slow' if kind == SLOW else 'passed'} ({_latency(outcome)})"
    elif status == ServiceStatus.UP and kind == SLOW:
        if after.slow >= fail_threshold:
            new = ServiceStatus.DEGRADED
            reason = f"{after.slow} slow answer{'s' if after.slow != 1 else ''} in a row ({_latency(outcome)})"
    elif status == ServiceStatus.DEGRADED and kind == FAST:
        if after.fast >= recover_threshold:
            new = ServiceStatus.UP
            reason = f"fast again: {after.fast} answer{'s' if after.fast != 1 else ''} in time ({_latency(outcome)})"
    return new, after, reason[:300]


def _flip(service_id: int, old: str, new: str, reason: str, at: dt.datetime) -> ServiceFlip:
    return ServiceFlip.objects.create(service_id=service_id, at=at, old_status=old, new_status=new, reason=reason[:300])


@dataclass
class Plan:
    """What one result does to a service row as read: the fields to write and the flip, if any."""

    old_status: str
    new_status: str
    reason: str
    fields: dict[str, Any]

    @property
    def changed(self) -> bool:
        return self.new_status != self.old_status


def plan(
    service: Service,
    outcome: ProbeOutcome,
    *,
    claim_token: str | None = None,
    next_due_at: dt.datetime | None = None,
    thresholds: tuple[int, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> Plan:
    """The new state of ``service`` (the row as last read) after ``outcome``; nothing is written."""
    fail_threshold, recover_threshold = thresholds or (service.fail_threshold, service.recover_threshold)
    new_status, counters, reason = next_status(
        service.status, Counters.of(service), fail_threshold, recover_threshold, outcome
    )
    fields: dict[str, Any] = {
        **counters.as_fields(),
        "last_checked_at": outcome.checked_at,
        "last_ok": outcome.ok,
        "last_latency_ms": outcome.latency_ms,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:300],
    }
    if outcome.cert_expires_at is not None:
        fields["cert_expires_at"] = outcome.cert_expires_at
    if claim_token is not None:
        fields.update(claim_token="", claimed_until=None)
    if next_due_at is not None:
        fields["next_due_at"] = next_due_at
    if extra:
        fields.update(extra)
    if new_status != service.status:
        fields.update(status=new_status, status_since=outcome.checked_at, status_reason=reason)
    return Plan(service.status, new_status, reason, fields)


def applies(service: Service) -> bool:
    """A result is applied to an enabled, unpaused service only (a late result of a paused one is dropped)."""
    return service.enabled and service.status != ServiceStatus.PAUSED


def landed(service: Service, planned: Plan) -> ServiceFlip | None:
    """After the guarded update won: write the flip (in the caller's transaction) and update the copy."""
    flip = None
    if planned.changed:
        at = planned.fields["last_checked_at"]
        flip = _flip(service.pk, planned.old_status, planned.new_status, planned.reason, at)
    for key, value in planned.fields.items():
        setattr(service, key, value)
    return flip


def record_outcome(
    service: Service,
    outcome: ProbeOutcome,
    *,
    claim_token: str | None = None,
    next_due_at: dt.datetime | None = None,
    attempts: int = 3,
    thresholds: tuple[int, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> ServiceFlip | None:
    """Apply one probe result to the service row; return the flip written, if the status changed.

    ``service`` must be the row as last read. The update only lands when nobody else wrote a
    result in between (and, with ``claim_token``, while this worker still holds the claim);
    otherwise the row is read again and the result re-applied, up to ``attempts`` times. A
    result for a service that was paused meanwhile, or whose claim was taken over, is dropped.
    ``thresholds`` (fail, recover) overrides the service's own: a heartbeat's one result decides.
    ``extra`` fields are written in the same guarded update (a heartbeat's last ping time).
    A sweep records all its results at once with the same guard (monitoring.services.record).
    """
    for _ in range(attempts):
        if not applies(service):
            return None
        planned = plan(
            service, outcome, claim_token=claim_token, next_due_at=next_due_at, thresholds=thresholds, extra=extra
        )
        guard = Service.objects.filter(pk=service.pk, status=service.status, enabled=True)
        guard = (
            guard.filter(last_checked_at=service.last_checked_at)
            if service.last_checked_at is not None
            else guard.filter(last_checked_at__isnull=True)
        )
        if claim_token is not None:
            guard = guard.filter(claim_token=claim_token)
        with transaction.atomic():
            if guard.update(**planned.fields) == 1:
                return landed(service, planned)
        service.refresh_from_db()
        if claim_token is not None and service.claim_token != claim_token:
            return None
    return None


def _set_status(service: Service, old_states: list[str], new: str, reason: str, **extra: Any) -> ServiceFlip | None:
    now = timezone.now()
    old = service.status
    if old not in old_states:
        return None
    with transaction.atomic():
        moved = Service.objects.filter(pk=service.pk, status=old).update(
            status=new,
            status_since=now,
            status_reason=reason[:300],
            consecutive_failures=0,
            consecutive_successes=0,
            consecutive_slow=0,
            consecutive_fast=0,
            **extra,
        )
        if moved != 1:
            return None
        flip = _flip(service.pk, old, new, reason, now)
    service.status, service.status_since, service.status_reason = new, now, reason[:300]
    for key, value in extra.items():
        setattr(service, key, value)
    return flip


def pause(service: Service, reason: str = "disabled") -> ServiceFlip | None:
    """Mark a disabled service PAUSED (one flip); no-op when it already is."""
    others = [s for s in ServiceStatus.values if s != ServiceStatus.PAUSED]
    return _set_status(service, others, ServiceStatus.PAUSED, reason)


def resume(service: Service, reason: str = "enabled again") -> ServiceFlip | None:
    """Take a re-enabled service out of PAUSED: UNKNOWN until its next probe, which is due now."""
    return _set_status(
        service,
        [ServiceStatus.PAUSED],
        ServiceStatus.UNKNOWN,
        reason,
        next_due_at=timezone.now(),
        claim_token="",
        claimed_until=None,
    )


def sync_enabled(service: Service) -> ServiceFlip | None:
    """Bring status in line with the enabled flag after a save (form, import, admin)."""
    service.refresh_from_db(fields=["status", "enabled"])
    if not service.enabled:
        return pause(service)
    if service.status == ServiceStatus.PAUSED:
        return resume(service)
    return None


def on_service_saved(
    sender: type[Service], instance: Service, raw: bool = False, update_fields: Any = None, **_: Any
) -> None:
    """post_save: however a service was saved (console, import, admin), PAUSED follows ``enabled``."""
    if raw or (update_fields is not None and "enabled" not in update_fields):
        return
    sync_enabled(instance)


class ServiceStatusCollector:
    """/metrics gauges: services per status, read from the database at scrape time."""

    def describe(self) -> list[object]:
        return []  # keeps registration from querying the database at import time

    def collect(self) -> Any:
        from django.db import DatabaseError
        from django.db.models import Count
        from prometheus_client.core import GaugeMetricFamily

        gauge = GaugeMetricFamily("opsportal_services", "Monitored services by status", labels=["status"])
        try:
            counts = dict(Service.objects.values_list("status").annotate(n=Count("pk")).order_by())
        except DatabaseError:
            return
        for status in ServiceStatus.values:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge
