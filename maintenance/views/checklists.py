"""Checklist pages: the current periods with their boxes and evidence, one period, history, template editing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from opsportal.access import console_view, has_perm

from ..checklists import NOTE_LIMIT, TickRefused, read_evidence, tick, untick
from ..choices import Cadence
from ..models import Checklist, ChecklistItem, ChecklistPeriod, PeriodItem, TickEvent
from ..periods import bounds_for, open_due_periods
from ..svg import completion_chart

VIEW = "maintenance.view_checklist"
TICK = "maintenance.tick_checklist"
EDIT_TEMPLATE = "maintenance.change_checklist"
HISTORY_PERIODS = {Cadence.DAILY: 30, Cadence.WEEKLY: 16, Cadence.MONTHLY: 12, Cadence.QUARTERLY: 8}


def _items(period: ChecklistPeriod, *, live: bool) -> list[dict[str, Any]]:
    """The period's items, each with the evidence to show: captured at the tick, or read now (live)."""
    rows = []
    for item in period.items.all():
        shown = item.evidence if item.is_ticked else (read_evidence(item) if live else None)
        rows.append({"item": item, "evidence": shown, "captured": item.is_ticked and item.evidence is not None})
    return rows


def _periods_with_items() -> Any:
    return ChecklistPeriod.objects.select_related("checklist").prefetch_related(
        Prefetch("items", queryset=PeriodItem.objects.order_by("position", "id"))
    )


@console_view(VIEW)
def checklists(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    if not ChecklistPeriod.objects.filter(ends_at__gt=now).exists():
        open_due_periods(now)  # first visit before beat ran: the page opens today's periods itself
    current = []
    for checklist in Checklist.objects.filter(enabled=True):
        period = _periods_with_items().filter(checklist=checklist, starts_at__lte=now, ends_at__gt=now).first()
        current.append({"checklist": checklist, "period": period, "items": _items(period, live=True) if period else []})
    overdue = (
        ChecklistPeriod.objects.select_related("checklist")
        .filter(overdue_at__isnull=False, completed_at__isnull=True)
        .order_by("-ends_at")[:10]
    )
    return render(
        request,
        "maintenance/checklists.html",
        {
            "current": current,
            "overdue": overdue,
            "can_tick": has_perm(request, TICK),
            "can_edit": has_perm(request, EDIT_TEMPLATE),
            "note_limit": NOTE_LIMIT,
        },
    )


@console_view(VIEW)
def period(request: HttpRequest, pk: int) -> HttpResponse:
    p = get_object_or_404(_periods_with_items(), pk=pk)
    now = timezone.now()
    events = TickEvent.objects.filter(period_item__period=p).select_related("period_item")[:100]
    return render(
        request,
        "maintenance/period.html",
        {
            "p": p,
            "items": _items(p, live=p.ends_at > now),
            "events": events,
            "is_current": p.starts_at <= now < p.ends_at,
            "can_tick": has_perm(request, TICK),
            "note_limit": NOTE_LIMIT,
        },
    )


def _back(request: HttpRequest, item: PeriodItem) -> HttpResponse:
    nxt = request.POST.get("next", "")
    if nxt.startswith("/maintenance/") and "//" not in nxt:
        return redirect(nxt)
    return redirect("maintenance:period", pk=item.period_id)


@console_view(TICK, methods=("POST",))
def item_tick(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PeriodItem.objects.select_related("period", "period__checklist"), pk=pk)
    note = request.POST.get("note", "")
    if len(note) > NOTE_LIMIT:
        messages.error(request, f"Not ticked: the note is longer than {NOTE_LIMIT} characters.")
        return _back(request, item)
    try:
        item = tick(item, request.user, note=note)
    except TickRefused as exc:
        messages.warning(request, f"Not ticked: {exc}.")
        return _back(request, item)
    fresh = "" if item.evidence_fresh or not item.evidence_name else " (without fresh evidence)"
    messages.success(request, f"Ticked “{item.text}”{fresh}.")
    return _back(request, item)


@console_view(TICK, methods=("POST",))
def item_untick(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PeriodItem.objects.select_related("period", "period__checklist"), pk=pk)
    note = request.POST.get("note", "")[:NOTE_LIMIT]
    try:
        untick(item, request.user, note=note)
    except TickRefused as exc:
        messages.warning(request, f"Not unticked: {exc}.")
        return _back(request, item)
    messages.success(request, f"Unticked “{item.text}”.")
    return _back(request, item)


@console_view(VIEW)
def history(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    charts = []
    for checklist in Checklist.objects.all():
        limit = HISTORY_PERIODS.get(checklist.cadence, 12)
        rows = list(
            checklist.periods.filter(starts_at__lte=now)
            .annotate(total=Count("items"), done=Count("items", filter=Q(items__ticked_at__isnull=False)))
            .order_by("-starts_at")[:limit]
        )[::-1]
        points = []
        for r in rows:
            rate = (r.done / r.total) if r.total else None
            is_open = r.ends_at > now
            tip = f"{r.key}: {r.done} of {r.total} ticked" + (" (open)" if is_open else "")
            points.append(
                (
                    r.key[-5:] if checklist.cadence == Cadence.DAILY else r.key,
                    None if is_open and r.done < r.total else rate,
                    tip,
                )
            )
        closed = [r for r in rows if r.ends_at <= now and r.total]
        rate = sum(r.done for r in closed) / sum(r.total for r in closed) if closed else None
        complete = sum(1 for r in closed if r.done == r.total)
        charts.append(
            {
                "checklist": checklist,
                "svg": completion_chart(points, title=f"{checklist.name} completion"),
                "rate": rate,
                "complete": complete,
                "closed": len(closed),
                "periods": rows[::-1][:6],
            }
        )
    people = (
        TickEvent.objects.filter(action="tick")
        .values("actor_name", "source")
        .annotate(n=Count("id"), last=Max("at"))
        .order_by("-n")[:20]
    )
    events = TickEvent.objects.select_related("period_item", "period_item__period", "period_item__period__checklist")[
        :50
    ]
    return render(request, "maintenance/history.html", {"charts": charts, "people": people, "events": events})


@console_view(EDIT_TEMPLATE, methods=("GET", "HEAD", "POST"))
def checklist_edit(request: HttpRequest, cadence: str) -> HttpResponse:
    checklist = get_object_or_404(Checklist, cadence=cadence)
    if request.method == "POST":
        error = _apply_edit(checklist, request.POST)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Template saved; open and past periods keep their items.")
        return redirect("maintenance:checklist_edit", cadence=checklist.cadence)
    nxt = bounds_for(checklist.cadence, timezone.now())
    return render(
        request,
        "maintenance/checklist_edit.html",
        {
            "checklist": checklist,
            "active": checklist.active_items(),
            "retired": checklist.items.filter(retired_at__isnull=False).order_by("-retired_at"),
            "next_period_starts": nxt.ends_at,
        },
    )


def _apply_edit(checklist: Checklist, data: Any) -> str | None:
    """Add, move or retire one item; returns an error message or None."""
    action = data.get("action", "")
    if action == "add":
        text = (data.get("text") or "").strip()
        if not text or len(text) > 200:
            return "Give the item's text (1 to 200 characters)."
        evidence = (data.get("evidence") or "").strip()[:60]
        last = checklist.items.aggregate(m=Max("position"))["m"] or 0
        ChecklistItem.objects.create(checklist=checklist, text=text, evidence=evidence, position=last + 1)
        return None
    try:
        item = checklist.items.get(pk=int(data.get("item", "")))
    except (ValueError, ChecklistItem.DoesNotExist):
        return "No such item in this checklist."
    if action == "retire":
        item.retired_at = timezone.now()
        item.save()
    elif action == "restore":
        item.retired_at = None
        item.position = (checklist.items.aggregate(m=Max("position"))["m"] or 0) + 1
        item.save()
    elif action in ("up", "down"):
        items = list(checklist.active_items())
        i = next((n for n, it in enumerate(items) if it.pk == item.pk), None)
        j = None if i is None else (i - 1 if action == "up" else i + 1)
        if i is None or j is None or not 0 <= j < len(items):
            return "That item cannot move further."
        items[i], items[j] = items[j], items[i]
        with transaction.atomic():
            for pos, it in enumerate(items, 1):
                if it.position != pos:
                    it.position = pos
                    it.save()
    else:
        return "Unknown action."
    return None
