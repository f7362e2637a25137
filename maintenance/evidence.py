"""Evidence this app provides itself: sign-in history for "Review access logs", and the dashboard's summary.

Sign-ins are read from ``opsportal.SignInEvent`` (successes, failures, django-axes lockouts,
with address): the facts for the period are the counts, who was locked out, and addresses
no successful sign-in came from before the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from monitoring.public import register_evidence
from opsportal.models import SignInEvent

from .choices import IncidentState


def sign_ins(*, start: dt.datetime | None = None, end: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    now = timezone.now()
    end = min(end or now, now)
    start = start or end - dt.timedelta(days=30)
    rows = SignInEvent.objects.filter(at__gte=start, at__lt=end)
    counts = dict(rows.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    ok = counts.get(SignInEvent.Kind.SUCCESS, 0)
    failed = counts.get(SignInEvent.Kind.FAILURE, 0)
    lockouts = sorted(
        {
            f"{u or '?'} from {ip or '?'}"
            for u, ip in rows.filter(kind=SignInEvent.Kind.LOCKOUT).values_list("username", "ip")
        }
    )
    addresses = set(rows.filter(kind=SignInEvent.Kind.SUCCESS, ip__isnull=False).values_list("ip", flat=True))
    seen_before = set(
        SignInEvent.objects.filter(kind=SignInEvent.Kind.SUCCESS, at__lt=start, ip__in=addresses).values_list(
            "ip", flat=True
        )
    )
    new = sorted(addresses - seen_before)
    facts: list[list[Any]] = [
        ["Sign-ins", ok],
        ["Failed", failed],
        ["Lockouts", len(lockouts)],
        ["New addresses", len(new)],
    ]
    if lockouts:
        facts.append(["Locked out", ", ".join(lockouts[:10])])
    if new:
        facts.append(["New from", ", ".join(new[:10])])
    return {
        "ok": not lockouts,
        "summary": f"{ok} sign-ins, {failed} failed, {len(lockouts)} lockouts, {len(new)} new addresses",
        "facts": facts,
        "successes": ok,
        "failures": failed,
        "lockouts": lockouts,
        "new_addresses": new,
        "fresh": True,
    }


def maintenance_today(*, now: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    """For the dashboard: today's (and this week's, month's, quarter's) checklist progress and open incidents."""
    from .checklists import today_progress
    from .models import Incident

    progress = [
        {
            "name": p["checklist"].name,
            "key": p["period"].key,
            "done": p["done"],
            "total": p["total"],
            "url": reverse("maintenance:period", kwargs={"pk": p["period"].pk}),
        }
        for p in today_progress(now)
    ]
    incidents = [
        {
            "id": i.pk,
            "title": i.title,
            "opened_at": i.opened_at.isoformat(),
            "url": reverse("maintenance:incident", kwargs={"pk": i.pk}),
        }
        for i in Incident.objects.filter(state=IncidentState.OPEN).order_by("-opened_at")[:5]
    ]
    open_items = sum(p["total"] - p["done"] for p in progress)
    return {
        "ok": not incidents,
        "summary": f"{open_items} checklist items open, {len(incidents)} open incidents",
        "facts": [],
        "checklists": progress,
        "incidents": incidents,
        "checklists_url": reverse("maintenance:checklists"),
        "incidents_url": reverse("maintenance:incidents"),
    }


def register() -> None:
    register_evidence("sign_ins", sign_ins)
    register_evidence("maintenance_today", maintenance_today)
