"""Checklist periods: their bounds in TIME_ZONE, opening them (idempotent, with catch-up) and overdue alerts.

A day runs from local midnight to the next, a week is the ISO week (Monday to Monday), a month
and a quarter start on their first day. Beat calls ``open_due_periods`` every few minutes;
each (checklist, start) exists once (a unique constraint), so two beats or a rerun open nothing
twice. After downtime the missed periods are opened too (at most ``MAX_CATCHUP`` per
checklist), so the history shows them as missed and the overdue alert names what was left open.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from monitoring.public import raise_alert, resolve_alert

from .choices import Cadence
from .models import Checklist, ChecklistPeriod, PeriodItem

log = logging.getLogger(__name__)

MAX_CATCHUP = 31


@dataclass(frozen=True)
class Bounds:
    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _start_date(cadence: str, day: dt.date) -> dt.date:
    if cadence == Cadence.DAILY:
        return day
    if cadence == Cadence.WEEKLY:
        return day - dt.timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    if cadence == Cadence.QUARTERLY:
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown cadence {cadence!r}")


def _next_start(cadence: str, start: dt.date) -> dt.date:
    if cadence == Cadence.DAILY:
        return start + dt.timedelta(days=1)
    if cadence == Cadence.WEEKLY:
        return start + dt.timedelta(days=7)
    months = 1 if cadence == Cadence.MONTHLY else 3
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def _key(cadence: str, start: dt.date) -> str:
    if cadence == Cadence.DAILY:
        return start.isoformat()
    if cadence == Cadence.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == Cadence.MONTHLY:
        return f"{start:%Y-%m}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _midnight(day: dt.date) -> dt.datetime:
    # In UTC, so that differences and comparisons count real hours across daylight-saving changes.
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone()).astimezone(dt.UTC)


def bounds_for(cadence: str, moment: dt.datetime) -> Bounds:
    """The period of ``cadence`` that contains ``moment`` (aware), in TIME_ZONE."""
    start = _start_date(cadence, moment.astimezone(zone()).date())
    return Bounds(_key(cadence, start), _midnight(start), _midnight(_next_start(cadence, start)))


def following(cadence: str, bounds: Bounds) -> Bounds:
    start = bounds.ends_at.astimezone(zone()).date()
    return Bounds(_key(cadence, start), _midnight(start), _midnight(_next_start(cadence, start)))


def open_period(checklist: Checklist, bounds: Bounds) -> tuple[ChecklistPeriod, bool]:
    """Get or create the period with these bounds; a new one gets a copy of the active items."""
    try:
        with transaction.atomic():
            period, created = ChecklistPeriod.objects.get_or_create(
                checklist=checklist,
                starts_at=bounds.starts_at,
                defaults={"key": bounds.key, "ends_at": bounds.ends_at},
            )
            if created:
                PeriodItem.objects.bulk_create(
                    PeriodItem(
                        period=period, item=item, text=item.text, position=item.position, evidence_name=item.evidence
                    )
                    for item in checklist.active_items()
                )
    except IntegrityError:  # another beat opened it between our read and our insert
        return ChecklistPeriod.objects.get(checklist=checklist, starts_at=bounds.starts_at), False
    return period, created


def due_bounds(checklist: Checklist, now: dt.datetime) -> list[Bounds]:
    """The periods that should exist by ``now`` and may not yet: after the last one, up to the current one."""
    current = bounds_for(checklist.cadence, now)
    last = checklist.periods.order_by("-starts_at").first()
    if last is None:
        return [current]
    wanted: list[Bounds] = []
    step = bounds_for(checklist.cadence, last.starts_at)
    while step.starts_at < current.starts_at:
        step = following(checklist.cadence, step)
        wanted.append(step)
    return wanted[-MAX_CATCHUP:]


def open_due_periods(now: dt.datetime | None = None) -> list[ChecklistPeriod]:
    """Open every due period of every enabled checklist; returns the periods created now."""
    now = now or timezone.now()
    created: list[ChecklistPeriod] = []
    for checklist in Checklist.objects.filter(enabled=True):
        for bounds in due_bounds(checklist, now):
            period, new = open_period(checklist, bounds)
            if new:
                created.append(period)
    return created


def current_period(checklist: Checklist, now: dt.datetime | None = None) -> ChecklistPeriod | None:
    now = now or timezone.now()
    return checklist.periods.filter(starts_at__lte=now, ends_at__gt=now).first()


# Overdue ----------------------------------------------------------------------------------


def alert_key(checklist: Checklist) -> str:
    return f"maintenance:checklist:{checklist.cadence}:overdue"


def open_texts(period: ChecklistPeriod) -> list[str]:
    return list(period.items.filter(ticked_at__isnull=True).order_by("position", "id").values_list("text", flat=True))


def mark_overdue(now: dt.datetime | None = None) -> list[ChecklistPeriod]:
    """Periods that ended with open items: record them (once) and raise one warning alert per checklist."""
    now = now or timezone.now()
    newly: dict[int, list[ChecklistPeriod]] = {}
    candidates = ChecklistPeriod.objects.select_related("checklist").filter(
        ends_at__lte=now, overdue_at__isnull=True, completed_at__isnull=True
    )
    for period in candidates.order_by("starts_at"):
        texts = open_texts(period)
        if not texts:
            continue
        moved = ChecklistPeriod.objects.filter(pk=period.pk, overdue_at__isnull=True).update(
            overdue_at=now, overdue_items=texts
        )
        if moved:
            period.overdue_at, period.overdue_items = now, texts
            newly.setdefault(period.checklist_id, []).append(period)
    for periods in newly.values():
        _raise_overdue(periods[0].checklist, periods)
    return [p for ps in newly.values() for p in ps]


def _raise_overdue(checklist: Checklist, periods: list[ChecklistPeriod]) -> None:
    latest = periods[-1]
    items = latest.overdue_items
    summary = f"{checklist.name} checklist {latest.key} ended with {len(items)} open: {'; '.join(items)}"
    if len(periods) > 1:
        summary += f" (and {len(periods) - 1} earlier period{'s' if len(periods) > 2 else ''})"
    raise_alert(
        alert_key(checklist),
        summary=summary,
        source="maintenance",
        severity="warning",
        details={
            "checklist": checklist.cadence,
            "periods": [{"key": p.key, "open": p.overdue_items} for p in periods],
            "url": reverse("maintenance:period", kwargs={"pk": latest.pk}),
        },
    )


def resolve_overdue_if_clear(checklist: Checklist) -> bool:
    """Resolve the overdue alert once no overdue period of the checklist has open items."""
    still = ChecklistPeriod.objects.filter(checklist=checklist, overdue_at__isnull=False, completed_at__isnull=True)
    if still.exists():
        return False
    return resolve_alert(alert_key(checklist), note="every overdue item has been ticked") is not None
