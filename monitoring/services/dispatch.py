"""Claiming due services and running their probes; each Service row carries its own next due time.

A dispatcher claims due rows inside one transaction with ``select_for_update(skip_locked=True)``
followed by a conditional update that stamps a claim token and a claim expiry, so two
dispatchers (two workers, two beats, a command and a worker) never probe the same service in
the same slot. Results are written back under that token; a claim left by a worker that died
simply expires and the service becomes due again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from monitoring.services import heartbeats, slots
from monitoring.services.choices import CheckType, ServiceStatus
from monitoring.services.models import Service, ServiceFlip
from monitoring.services.probes import SWEEP_GRACE_SECONDS, ProbeOutcome, ProbeSpec, sweep
from monitoring.services.record import record_sweep, reschedule

log = logging.getLogger(__name__)

# Time a claim stays valid beyond the longest probe timeout: enough to write the results.
CLAIM_MARGIN = dt.timedelta(seconds=30)
DEFAULT_BATCH = 2000


@dataclass
class SweepReport:
    """What one dispatch did: how many services were probed and how long it took."""

    claimed: int = 0
    probed: int = 0
    rescheduled: int = 0
    skipped: int = 0
    failed: int = 0
    busy: list[str] = field(default_factory=list)
    flips: list[ServiceFlip] = field(default_factory=list)
    rows: list[tuple[Service, ProbeOutcome]] = field(default_factory=list)
    sweep_seconds: float = 0.0
    total_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "claimed": self.claimed,
            "probed": self.probed,
            "rescheduled": self.rescheduled,
            "skipped": self.skipped,
            "failed": self.failed,
            "flips": len(self.flips),
            "sweep_seconds": round(self.sweep_seconds, 3),
            "total_seconds": round(self.total_seconds, 3),
        }


def _claim_filter(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _stamp(ids: list[int], now: dt.datetime, extra: Q) -> tuple[str, list[Service]]:
    """Conditionally stamp a fresh claim token on ``ids``; return the rows this call won."""
    token = uuid.uuid4().hex
    if not ids:
        return token, []
    longest = Service.objects.filter(pk__in=ids).aggregate(m=Max("timeout_seconds"))["m"] or 0.0
    until = now + dt.timedelta(seconds=longest + SWEEP_GRACE_SECONDS) + CLAIM_MARGIN
    Service.objects.filter(extra, _claim_filter(now), pk__in=ids).update(claim_token=token, claimed_until=until)
    won = list(Service.objects.filter(claim_token=token).order_by("pk"))
    return token, won


# One statement on PostgreSQL: lock what is due (skipping rows another dispatcher holds), stamp
# the claim with an expiry past the longest timeout among them, and say which ids it got. The
# ORM's three statements with ``pk__in`` a list of thousands cost a sixth of a 10,000-service sweep.
_TABLE = Service._meta.db_table
CLAIM_DUE_SQL = (
    f"WITH picked AS (SELECT id, timeout_seconds FROM {_TABLE} "  # noqa: S608 - the table name from the model
    "WHERE enabled AND next_due_at <= %(now)s AND status <> %(paused)s "
    "AND (claimed_until IS NULL OR claimed_until < %(now)s) "
    "ORDER BY next_due_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED), "
    "longest AS (SELECT max(timeout_seconds) AS seconds FROM picked) "
    f"UPDATE {_TABLE} AS s SET claim_token = %(token)s, "
    "claimed_until = %(now)s + make_interval(secs => longest.seconds + %(grace)s) "
    "FROM picked, longest WHERE s.id = picked.id RETURNING s.id"
)


def claim_due(*, now: dt.datetime | None = None, limit: int = DEFAULT_BATCH) -> tuple[str, list[Service]]:
    """Claim up to ``limit`` enabled services whose next due time has come."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        token = uuid.uuid4().hex
        grace = SWEEP_GRACE_SECONDS + CLAIM_MARGIN.total_seconds()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                CLAIM_DUE_SQL,
                {"now": now, "paused": str(ServiceStatus.PAUSED), "limit": limit, "token": token, "grace": grace},
            )
            if not cursor.fetchone():
                return token, []
        return token, list(Service.objects.filter(claim_token=token).order_by("pk"))
    due = Q(enabled=True, next_due_at__lte=now) & ~Q(status=ServiceStatus.PAUSED)
    with transaction.atomic():
        ids = list(
            Service.objects.select_for_update(skip_locked=True)
            .filter(due, _claim_filter(now))
            .order_by("next_due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        return _stamp(ids, now, due)


def claim(services: Iterable[Service], *, now: dt.datetime | None = None) -> tuple[str, list[Service], list[Service]]:
    """Claim specific services now, due or not ("probe now"); returns (token, won, busy)."""
    now = now or timezone.now()
    wanted = [s.pk for s in services]
    with transaction.atomic():
        ids = list(
            Service.objects.select_for_update(skip_locked=True)
            .filter(_claim_filter(now), pk__in=wanted)
            .values_list("pk", flat=True)
        )
        token, won = _stamp(ids, now, Q())
    won_ids = {s.pk for s in won}
    busy = [s for s in services if s.pk not in won_ids]
    return token, won, busy


def release(token: str) -> int:
    return Service.objects.filter(claim_token=token).update(claim_token="", claimed_until=None)


# A service due longer ago than this when a dispatcher without a previous pass (the beat task, a
# command) claims it is stale: moved to its next slot, not probed late (monitoring.services.slots).
STALE_AFTER = dt.timedelta(seconds=10)


def probe_claimed(
    services: list[Service],
    token: str,
    *,
    advance_schedule: bool = True,
    concurrency: int | None = None,
    deadline: float | None = None,
    fresh_since: dt.datetime | None = None,
) -> SweepReport:
    """Probe services this worker has claimed, store results and states, release the claims.

    On schedule (``advance_schedule``), a service that fell due before ``fresh_since`` (the
    dispatcher's previous pass; by default STALE_AFTER ago) is stale: probed only if one of its
    slots came since, else moved to its next slot. A probed service gets the slot an interval on;
    probed outside the schedule, its first slot half an interval or more from now."""
    started = time.perf_counter()
    claimed_at = timezone.now()
    report = SweepReport(claimed=len(services))
    if not services:
        return report
    if advance_schedule:
        later = _catch_up(services, fresh_since or claimed_at - STALE_AFTER, claimed_at)
        if later:
            report.rescheduled = reschedule([(s, s.next_due_at) for s in later], token)
            services = [s for s in services if s.next_due_at <= claimed_at]
    heartbeats = [s for s in services if s.check_type == CheckType.HEARTBEAT]
    if heartbeats:
        _record_overdue(heartbeats, token, report, overdue=advance_schedule)
        services = [s for s in services if s.check_type != CheckType.HEARTBEAT]
    if not services:
        release(token)
        report.total_seconds = time.perf_counter() - started
        return report
    specs = [ProbeSpec.from_service(s) for s in services]
    sweep_started = time.perf_counter()
    outcomes = sweep(specs, concurrency=concurrency, deadline=deadline)
    report.sweep_seconds = time.perf_counter() - sweep_started
    now = timezone.now()
    skipped: list[int] = []
    items = []
    for service, outcome in zip(services, outcomes, strict=True):
        if outcome.skipped:
            report.skipped += 1
            skipped.append(service.pk)
            continue
        report.probed += 1
        report.failed += 0 if outcome.ok else 1
        due = slots.after_probe(service, claimed_at) if advance_schedule else slots.after_manual_probe(service, now)
        items.append((service, outcome, due))
        report.rows.append((service, outcome))
    report.flips.extend(record_sweep(items, token))
    if skipped:  # cut short by the deadline: due now, so the next dispatcher tick probes them in full
        Service.objects.filter(pk__in=skipped).update(next_due_at=now)  # after this pass: fresh, not stale
    release(token)  # skipped services and any row whose result could not be written
    report.total_seconds = time.perf_counter() - started
    if report.probed:
        log.info("probe sweep: %s", report.as_dict())
    return report


def _catch_up(services: list[Service], fresh_since: dt.datetime, now: dt.datetime) -> list[Service]:
    """Give each stale service (due before ``fresh_since``) the slot it has since then, as if a
    dispatcher had been running all along; return those whose slot is still to come."""
    later = []
    for service in services:
        if slots.is_stale(service, fresh_since):
            service.next_due_at = slots.slot_at_or_after(service, fresh_since)
            if service.next_due_at > now:
                later.append(service)
    return later


def _record_overdue(services: list[Service], token: str, report: SweepReport, *, overdue: bool) -> None:
    """Heartbeat services are not probed: claimed because their deadline passed, each is down
    unless a ping came meanwhile. Asked to "probe now", there is nothing to ask them."""
    now = timezone.now()
    for service in services:
        if not overdue:
            report.skipped += 1
            continue
        flip = heartbeats.record_overdue(service, token, now)
        report.probed += 1
        report.failed += 1
        if flip is not None:
            report.flips.append(flip)


def run_due(*, limit: int = DEFAULT_BATCH, concurrency: int | None = None) -> SweepReport:
    """One dispatcher tick: claim what is due and probe it."""
    token, services = claim_due(limit=limit)
    return probe_claimed(services, token, concurrency=concurrency)


def probe_now(services: list[Service], *, concurrency: int | None = None, deadline: float | None = None) -> SweepReport:
    """Probe the given services immediately, outside their schedule (console, command).

    With a ``deadline`` shorter than a probe's timeout, a probe still running when it passes is
    skipped (no result) and left due now, for the dispatcher to run with the full timeout.
    """
    token, won, busy = claim(services)
    report = probe_claimed(won, token, advance_schedule=False, concurrency=concurrency, deadline=deadline)
    report.busy = [s.slug for s in busy]
    return report
