"""Ticking and unticking checklist items, with the evidence captured at the tick, and the drill hook.

Ticks are compare-and-set updates (an item is ticked once; a second click changes nothing),
each writes a TickEvent and an audit record. A passing restore drill ticks "Full backup
test/restore" of the month it passed in, as "ticked by drill #N".
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from monitoring.public import evidence
from opsportal import audit
from opsportal.models import AuditRecord

from .choices import Cadence, TickAction, TickSource
from .models import ChecklistPeriod, PeriodItem, TickEvent
from .periods import open_due_periods, resolve_overdue_if_clear

log = logging.getLogger(__name__)

NOTE_LIMIT = 2000
DRILL_EVIDENCE = "backup_drill"


class TickRefused(ValueError):
    """A tick or untick that cannot be done (already ticked, not ticked); the message says why."""


def read_evidence(item: PeriodItem, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """What the item's provider says now, for the period of the item (None: no provider for it)."""
    if not item.evidence_name:
        return None
    period = item.period
    answer = evidence(item.evidence_name, start=period.starts_at, end=period.ends_at, now=now or timezone.now())
    if answer is None:
        return {"ok": None, "summary": "not available yet", "facts": [], "fresh": False, "missing": True}
    return answer


def is_fresh(answer: dict[str, Any] | None) -> bool:
    """Whether the answer counts as evidence: the provider's ``fresh`` when it says, else whether it could tell (``ok``)."""
    if not answer or "error" in answer or answer.get("missing"):
        return False
    return bool(answer["fresh"]) if "fresh" in answer else answer.get("ok") is not None


def _actor_name(actor: Any) -> str:
    return actor.get_username() if actor is not None and getattr(actor, "is_authenticated", False) else ""


def tick(
    item: PeriodItem,
    actor: Any,
    *,
    note: str = "",
    source: str = TickSource.PERSON,
    ref: str = "",
    now: dt.datetime | None = None,
) -> PeriodItem:
    """Tick ``item`` with ``note`` and the evidence read now; raises TickRefused when it is ticked already."""
    now = now or timezone.now()
    note = (note or "").strip()[:NOTE_LIMIT]
    answer = read_evidence(item, now=now)
    name = _actor_name(actor) or (ref if source == TickSource.DRILL else "")
    with transaction.atomic():
        moved = PeriodItem.objects.filter(pk=item.pk, ticked_at__isnull=True).update(
            ticked_at=now,
            ticked_by=actor if name and source == TickSource.PERSON else None,
            ticked_by_name=name,
            tick_source=source,
            tick_ref=ref[:60],
            note=note,
            evidence=answer,
            evidence_at=now if answer is not None else None,
            evidence_fresh=is_fresh(answer),
        )
        if not moved:
            raise TickRefused(f"“{item.text}” is already ticked")
        TickEvent.objects.create(
            period_item=item,
            action=TickAction.TICK,
            at=now,
            actor=actor if source == TickSource.PERSON and name else None,
            actor_name=name,
            source=source,
            note=note,
        )
        item.refresh_from_db()
        audit.record(
            AuditRecord.Action.ACTION,
            item,
            summary=f"ticked “{item.text}” ({item.period})" + (f" by {ref}" if ref else ""),
            changes={"ticked_at": [None, now.isoformat()], "note": ["", note]}
            if note
            else {"ticked_at": [None, now.isoformat()]},
            actor=actor if source == TickSource.PERSON else None,
        )
        _complete_if_done(item.period, now)
    return item


def untick(item: PeriodItem, actor: Any, *, note: str = "", now: dt.datetime | None = None) -> PeriodItem:
    """Untick ``item``; the earlier tick stays in the history and the audit log."""
    now = now or timezone.now()
    note = (note or "").strip()[:NOTE_LIMIT]
    before = {"ticked_at": item.ticked_at.isoformat() if item.ticked_at else None, "ticked_by": item.ticked_by_name}
    with transaction.atomic():
        moved = PeriodItem.objects.filter(pk=item.pk, ticked_at__isnull=False).update(
            ticked_at=None,
            ticked_by=None,
            ticked_by_name="",
            tick_source="",
            tick_ref="",
            note="",
            evidence=None,
            evidence_at=None,
            evidence_fresh=False,
        )
        if not moved:
            raise TickRefused(f"“{item.text}” is not ticked")
        TickEvent.objects.create(
            period_item=item, action=TickAction.UNTICK, at=now, actor=actor, actor_name=_actor_name(actor), note=note
        )
        ChecklistPeriod.objects.filter(pk=item.period_id).update(completed_at=None)
        audit.record(
            AuditRecord.Action.ACTION,
            item,
            summary=f"unticked “{item.text}” ({item.period})" + (f": {note}" if note else ""),
            changes={"ticked_at": [before["ticked_at"], None], "ticked_by": [before["ticked_by"], ""]},
            actor=actor,
        )
    item.refresh_from_db()
    return item


def _complete_if_done(period: ChecklistPeriod, now: dt.datetime) -> None:
    if period.items.filter(ticked_at__isnull=True).exists():
        return
    if ChecklistPeriod.objects.filter(pk=period.pk, completed_at__isnull=True).update(completed_at=now):
        period.refresh_from_db()
        if period.overdue_at is not None:
            resolve_overdue_if_clear(period.checklist)


def tick_from_drill(drill_id: int, finished_at: dt.datetime) -> PeriodItem | None:
    """Tick the monthly "Full backup test/restore" item of the month ``finished_at`` falls in."""
    open_due_periods(finished_at)
    item = (
        PeriodItem.objects.select_related("period", "period__checklist")
        .filter(
            period__checklist__cadence=Cadence.MONTHLY,
            period__starts_at__lte=finished_at,
            period__ends_at__gt=finished_at,
            evidence_name=DRILL_EVIDENCE,
            ticked_at__isnull=True,
        )
        .first()
    )
    if item is None:
        return None
    try:
        return tick(
            item, None, source=TickSource.DRILL, ref=f"drill #{drill_id}", note=f"restore drill #{drill_id} passed"
        )
    except TickRefused:
        return None


def on_restore_drill_passed(sender: Any, *, drill_id: int, finished_at: dt.datetime, **_: Any) -> None:
    """Receiver of ``opsportal.events.restore_drill_passed``."""
    try:
        tick_from_drill(drill_id, finished_at)
    except Exception:
        log.exception("could not tick the checklist for drill #%s", drill_id)


def today_progress(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """For the dashboard: each current period with ticked / total counts (one query)."""
    now = now or timezone.now()
    periods = (
        ChecklistPeriod.objects.select_related("checklist")
        .filter(starts_at__lte=now, ends_at__gt=now, checklist__enabled=True)
        .annotate(total=Count("items"), done=Count("items", filter=Q(items__ticked_at__isnull=False)))
        .order_by("checklist__position", "checklist_id")
    )
    return [{"checklist": p.checklist, "period": p, "done": p.done, "total": p.total} for p in periods]
